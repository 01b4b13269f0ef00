"""Admin menu items shown only to the users their page admits, and the "Merchandising" submenu that
gathers the screens steering search and recommendations."""

from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSetGroup

# Viewsets set ``menu_hook`` to it; other menu items are returned by a hook of this name.
MERCHANDISING_MENU_HOOK = "register_merchandising_menu_item"


class MerchandisingMenu(ViewSetGroup):
    """One sidebar entry for synonyms, query rules, recommendation rules and their preview: their labels
    fit a submenu, and a merchandiser finds the levers together. Shown when any of its items is."""

    menu_label = "Merchandising"
    menu_name = "merchandising"
    menu_icon = "tag"
    menu_order = 240
    submenu_hook = MERCHANDISING_MENU_HOOK


class PermittedMenuItem(MenuItem):
    """A menu item shown to users with ``permission`` ("app_label.codename", an argument or a subclass's
    attribute): the page it opens refuses everyone else, so the menu does not offer it to them."""

    permission = ""

    def __init__(self, *args, permission: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission or self.permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)
