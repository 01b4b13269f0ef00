"""Admin menu items shown only to the users their page admits."""

from wagtail.admin.menu import MenuItem


class PermittedMenuItem(MenuItem):
    """A menu item shown to users with ``permission`` ("app_label.codename", an argument or a subclass's
    attribute): the page it opens refuses everyone else, so the menu does not offer it to them."""

    permission = ""

    def __init__(self, *args, permission: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission or self.permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)
