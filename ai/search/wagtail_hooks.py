from django.urls import path, reverse
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.auth import permission_denied
from wagtail.admin.menu import MenuItem

from ai.search.reports import search_report


class SearchReportView(TemplateView):
    template_name = "search/admin/report.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("search.view_searchquery"):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        try:
            days = max(1, min(int(self.request.GET.get("days", 30)), 365))
        except ValueError:
            days = 30
        return {**super().get_context_data(**kwargs), **search_report(days=days), "page_title": "Search report"}


@hooks.register("register_admin_urls")
def search_report_urls():
    return [path("reports/search/", SearchReportView.as_view(), name="search_report")]


class SearchReportMenuItem(MenuItem):
    def is_shown(self, request):  # only to those the report itself admits
        return request.user.has_perm("search.view_searchquery")


@hooks.register("register_reports_menu_item")
def search_report_menu_item():
    return SearchReportMenuItem("Search", reverse("search_report"), icon_name="search", order=700)
