"""The demo shop: a generated catalogue, pages, shoppers and their simulated history, the AI features'
first rules and experiments, and a search development set. The top layer's app: it may import every other
app and none imports it (``make demo`` runs its commands)."""
