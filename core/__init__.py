"""Web plumbing every app may use and that imports no app: queueing Celery tasks from request paths
(``queueing``), the API's shared schema fields and error bodies (``schema``), the client's address
behind proxies (``security``). The bottom layer of the import contracts in pyproject.toml."""
