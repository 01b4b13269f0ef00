"""Search in the Wagtail admin: the search report (Reports menu), and the synonyms and query rules
merchandisers manage."""

from django.core.paginator import Page, Paginator
from django.urls import path, reverse
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.auth import permission_denied
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import CreateView, SnippetViewSet

from ai.search import reports
from ai.search.forms import QueryRuleForm
from ai.search.models import QueryRule, Synonym
from core.admin_menu import MERCHANDISING_MENU_HOOK, PermittedMenuItem


class SearchReportView(TemplateView):
    template_name = "search/admin/report.html"
    per_page = 25
    # Each list pages on its own (``?zero_page=2``), so a merchandiser can work down one list.
    lists = {"zero": reports.zero_result_queries, "low_click": reports.low_click_queries,
             "applied": reports.applied_queries, "suggestions": reports.synonym_suggestions}

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("search.view_searchquery"):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        try:
            days = max(1, min(int(self.request.GET.get("days", 30)), 365))
        except ValueError:
            days = 30
        since, user = reports.period(days), self.request.user
        pages = {name: self.page(name, rows(since)) for name, rows in self.lists.items()}
        return {**super().get_context_data(**kwargs), **reports.search_report(days=days), "pages": pages,
                "low_click_searches": reports.LOW_CLICK_SEARCHES, "low_click_rate": reports.LOW_CLICK_RATE,
                "reformulation_minutes": reports.REFORMULATION_MINUTES,
                "can_add_synonym": user.has_perm("search.add_synonym"),
                "can_add_rule": user.has_perm("search.add_queryrule"), "page_title": "Search report"}

    def page(self, name: str, rows: list[dict]) -> Page:
        """The list's page the query string asks for, with links to its neighbours that keep the other
        lists' pages and the period."""
        param = f"{name}_page"
        page = Paginator(rows, self.per_page).get_page(self.request.GET.get(param))
        for link, number in (("previous_url", page.has_previous() and page.number - 1),
                             ("next_url", page.has_next() and page.number + 1)):
            if number:
                query = self.request.GET.copy()
                query[param] = number
                setattr(page, link, f"?{query.urlencode()}#{name}")
        return page


@hooks.register("register_admin_urls")
def search_report_urls():
    return [path("reports/search/", SearchReportView.as_view(), name="search_report")]


@hooks.register("register_reports_menu_item")
def search_report_menu_item():
    return PermittedMenuItem("Search", reverse("search_report"), permission="search.view_searchquery",
                             icon_name="search", order=700)


class PrefilledCreateView(CreateView):
    """The add form with the fields ``prefilled`` names taken from the query string: the search report's
    one-click "Add synonym" and "Add rule" links (``?kind=one_way&terms=tee&targets=t-shirt``)."""

    prefilled: tuple[str, ...] = ()

    def get_initial(self):
        given = {name: value for name in self.prefilled if (value := self.request.GET.get(name, "").strip())}
        return {**super().get_initial(), **given}


class SynonymCreateView(PrefilledCreateView):
    prefilled = ("kind", "terms", "targets")


class QueryRuleCreateView(PrefilledCreateView):
    prefilled = ("name", "match", "query")


class SynonymViewSet(SnippetViewSet):
    """Synonyms apply to the next search after a save (``caching.CachedTable.changed``); model permissions
    decide who may view, add, change or delete them."""

    model = Synonym
    add_view_class = SynonymCreateView
    icon = "search"
    menu_label = "Search synonyms"
    menu_name = "search-synonyms"
    menu_order = 1
    menu_hook = MERCHANDISING_MENU_HOOK
    list_display = ["terms", "targets", "kind", "enabled", "updated_at"]
    list_filter = {"kind": ["exact"], "enabled": ["exact"]}
    search_fields = ["terms", "targets"]
    search_backend_name = None  # plain ORM lookups: synonyms are few and not in the search index
    list_per_page = 50
    ordering = ["terms"]
    panels = [
        FieldPanel("kind", help_text="Two-way: a search for any term finds what the others find. One-way: a "
                                     "search for a term also finds its targets, not the other way round."),
        FieldPanel("terms"),
        FieldPanel("targets"),
        FieldPanel("enabled"),
    ]


register_snippet(SynonymViewSet)


class QueryRuleViewSet(SnippetViewSet):
    """Rules apply to the next search after a save (``caching.CachedTable.changed``); the preview panel
    ranks the rule's query without and with the unsaved rule (``QueryRule.get_preview_context``). Model
    permissions decide who may view, add, change or delete them."""

    model = QueryRule
    add_view_class = QueryRuleCreateView
    icon = "pick"
    menu_label = "Search rules"
    menu_name = "search-rules"
    menu_order = 2
    menu_hook = MERCHANDISING_MENU_HOOK
    list_display = ["name", "query", "match", "action", "enabled", "starts_at", "ends_at", "updated_at"]
    list_filter = {"action": ["exact"], "match": ["exact"], "enabled": ["exact"]}
    search_fields = ["name", "query"]
    search_backend_name = None  # plain ORM lookups: rules are few and not in the search index
    list_per_page = 50
    ordering = ["query", "name"]
    edit_handler = ObjectList([
        FieldPanel("name"),
        FieldRowPanel([FieldPanel("match"), FieldPanel("query")], heading="When a shopper searches"),
        FieldPanel("action"),
        MultiFieldPanel([FieldPanel("products"), FieldPanel("position")], heading="Pin, hide, bury"),
        MultiFieldPanel([FieldPanel("category"), FieldRowPanel([FieldPanel("attribute_name"),
                                                                FieldPanel("attribute_value")]),
                         FieldPanel("boost_percent")], heading="Boost",
                        help_text="A category, or an attribute and its value (colour = red)."),
        MultiFieldPanel([FieldPanel("redirect_page"), FieldPanel("redirect_url")], heading="Redirect"),
        MultiFieldPanel([FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]), FieldPanel("enabled")],
                        heading="When the rule applies"),
    ], base_form_class=QueryRuleForm)


register_snippet(QueryRuleViewSet)
