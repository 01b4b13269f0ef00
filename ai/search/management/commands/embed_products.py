from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai import embeddings
from ai.search import indexing, serving, vector_index
from commerce.catalogue.models import Product

# Measured (bench/search.py): a 256-text batch embeds in ≈ 1.5 s; progress and a crash lose at most that.
BATCH_SIZE = 256


class Command(BaseCommand):
    help = ("Embed and keyword-index products for search. By default only products never indexed "
            "(resumable: rerun after an interruption); --all re-checks every product and re-embeds those "
            "whose text changed; --force re-embeds everything (after a model change).")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="check every product, not just unindexed ones")
        parser.add_argument("--force", action="store_true", help="re-embed even unchanged texts")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, all=False, force=False, batch_size=BATCH_SIZE, **options):
        if all or force:
            ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
        else:
            ids = serving.products_needing_index()
        self.stdout.write(f"encoder {embeddings.warm_up()}; {len(ids)} products to check")
        paths = indexing.category_paths()
        embedded = 0
        with tqdm(total=len(ids), unit="product", disable=not ids) as bar:
            for start in range(0, len(ids), batch_size):
                batch = ids[start:start + batch_size]
                embedded += indexing.index_products(batch, force=force, paths=paths)
                bar.update(len(batch))
        vocabulary = indexing.refresh_term_statistics().vocabulary
        lists = vector_index.refresh_vector_index()
        self.stdout.write(self.style.SUCCESS(
            f"embedded {embedded} products; vocabulary {vocabulary} terms; "
            + (f"IVFFlat index {lists} lists" if lists else "HNSW index (catalogue below the IVFFlat threshold)")))
