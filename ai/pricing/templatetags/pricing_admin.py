"""Template tags of the pricing admin."""

from django import template
from django.urls import reverse
from wagtail.admin.templatetags.wagtailadmin_tags import bulk_action_choices

register = template.Library()


@register.inclusion_tag("wagtailadmin/shared/buttons.html", takes_context=True)
def bulk_action_choices_without_delete(context, app_label, model_name):
    """Wagtail's bulk action buttons less Delete, which Wagtail registers for every snippet: price changes are
    the engine's audit trail, only approved or rejected (their permission policy refuses deleting anyway)."""
    delete_url = reverse("wagtail_bulk_action", args=[app_label, model_name, "delete"])
    buttons = bulk_action_choices(context, app_label, model_name)["buttons"]
    return {"buttons": [button for button in buttons if getattr(button, "url", None) != delete_url]}
