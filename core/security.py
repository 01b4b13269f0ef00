"""The client's address, as the login throttle (django-axes, ``AXES_CLIENT_IP_CALLABLE``) counts it."""

from django.conf import settings


def client_ip_address(request) -> str:
    """``REMOTE_ADDR``, or behind ``settings.PROXY_COUNT`` reverse proxies the address the outermost one
    was reached from: each proxy appends its peer to X-Forwarded-For, so that is the PROXY_COUNT-th entry
    from the right. Entries left of it are whatever the client sent, and could be anything."""
    if settings.PROXY_COUNT:
        forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(forwarded) >= settings.PROXY_COUNT:
            return forwarded[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "")
