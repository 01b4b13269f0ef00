"""The Storefront AI dashboard: one Wagtail admin page with the health of every AI component and a link to act."""
