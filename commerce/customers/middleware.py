import uuid

from commerce.customers.services import VISITOR_COOKIE, VISITOR_COOKIE_MAX_AGE, parse_visitor_id


class VisitorMiddleware:
    """Gives every visitor, anonymous or not, a stable UUID (``request.visitor_id``).

    It lives in a signed long-lived cookie rather than in the session, so a shopper who only browses
    costs no session write, and the id outlives a session expiry. At login the visitor's events and
    cart are handed to the customer (commerce.customers.signals); at logout a new id is issued so the
    next person on a shared device starts clean.
    """

    salt = "vitrine.visitor"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.get_signed_cookie(VISITOR_COOKIE, default=None, salt=self.salt)
        existing = parse_visitor_id(raw)
        request.visitor_id = existing or uuid.uuid4()
        # No valid cookie: a client that never keeps it is a new visitor on every request (rate limits
        # count those by address instead).
        request.visitor_id_is_new = existing is None
        response = self.get_response(request)
        if existing is None or request.visitor_id != existing:
            response.set_signed_cookie(
                VISITOR_COOKIE, str(request.visitor_id), salt=self.salt, max_age=VISITOR_COOKIE_MAX_AGE,
                httponly=True, samesite="Lax", secure=request.is_secure(),
            )
        return response

