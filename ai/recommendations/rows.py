"""What a recommendation row is made of, shared by serving, the merchandising rules and the rules' model:
the surfaces rows are served on, and one recommended product with why it is there."""

from dataclasses import dataclass

from ai.common import CarouselStrategy
from commerce.catalogue.models import Product

# Each carousel strategy but the shopper's recently viewed is a surface of its own too.
STRATEGY_SURFACES = (CarouselStrategy.SIMILAR, CarouselStrategy.BOUGHT_TOGETHER, CarouselStrategy.TRENDING,
                     CarouselStrategy.BUY_AGAIN, CarouselStrategy.BECAUSE_VIEWED)
SURFACES = ("home", "product", "cart", *STRATEGY_SURFACES)
PRODUCT_SURFACES = ("product", CarouselStrategy.SIMILAR, CarouselStrategy.BOUGHT_TOGETHER)


@dataclass
class Recommendation:
    product: Product
    score: float
    reason: str
    # personalised | session | similar | bought_together | complementary | trending | buy_again |
    # because_viewed | recently_viewed | category_popular | popular | pinned
    strategy: str
