"""The recommender itself, as plain arrays: no database, no cache.

The storefront (``training``, ``refresh``) and the offline evaluation (``evaluation``) both go through
these functions, so what is evaluated is exactly what is served: the same interaction weighting, the
same ALS and item-item models, the same blend and the same filtering.

Shapes: interaction matrices are customers × products (scipy CSR, float32); factor matrices have one
row per customer or product.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from ai.recommendations.config import RecommenderSettings


def interaction_matrix(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray,
                       shape: tuple[int, int]) -> sp.csr_matrix:
    """Sum the weighted interactions per cell; cells a return brought to zero or below drop out."""
    matrix = sp.csr_matrix((weights.astype(np.float32), (rows, cols)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data[matrix.data < 0] = 0
    matrix.eliminate_zeros()
    return matrix


def confidence(matrix: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    scaled = matrix.copy()
    scaled.data = (alpha * np.log1p(scaled.data)).astype(np.float32)
    return scaled


@dataclass
class TrainedModel:
    customer_factors: np.ndarray
    product_factors: np.ndarray
    item_similarity: sp.csr_matrix  # products × products, the ``item_model``'s neighbours per row
    popularity: np.ndarray  # per product: log(1 + customers who interacted)
    settings: RecommenderSettings

    @cached_property
    def gram(self) -> np.ndarray:
        """YᵀY, shared by every fold-in; computed once per model."""
        return self.product_factors.T @ self.product_factors

    @cached_property
    def unit_factors(self) -> np.ndarray:
        """Product factors scaled to unit length (a zero row stays zero), for explanations' cosines."""
        norms = np.linalg.norm(self.product_factors, axis=1)
        norms[norms == 0] = 1.0
        return self.product_factors / norms[:, None]


def fit(matrix: sp.csr_matrix, settings: RecommenderSettings, *, threads: int = 0) -> TrainedModel:
    """Train the settings' model: ALS on the confidence-scaled matrix (when it has a share; otherwise no
    factors), the item-item model on log(1 + weight) (always: explanations and "similar" lists fall back
    to it) and popularity."""
    if settings.als_share > 0:
        customer_factors, product_factors = fit_als(matrix, settings.factors, settings.regularization,
                                                    settings.alpha, settings, threads=threads)
    else:
        customer_factors = np.zeros((matrix.shape[0], 0), dtype=np.float32)
        product_factors = np.zeros((matrix.shape[1], 0), dtype=np.float32)
    return TrainedModel(customer_factors, product_factors,
                        fit_item_model(matrix, settings.item_model, settings, threads=threads),
                        popularity(matrix), settings)


def fit_als(matrix: sp.csr_matrix, factors: int, regularization: float, alpha: float,
            settings: RecommenderSettings, *, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """implicit's ALS on ``alpha``-scaled confidence: (customer factors, product factors)."""
    with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads only thrash
        als = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=1.0,
                                      iterations=settings.iterations, num_threads=threads,
                                      random_state=settings.random_state)
        als.fit(confidence(matrix, alpha), show_progress=False)
    return np.ascontiguousarray(als.user_factors), np.ascontiguousarray(als.item_factors)


def popularity(matrix: sp.csr_matrix) -> np.ndarray:
    """Per product: log(1 + customers who interacted)."""
    return np.log1p(np.diff(matrix.tocsc().indptr).astype(np.float32))


def fit_item_model(matrix: sp.csr_matrix, kind: str, settings: RecommenderSettings, *,
                   threads: int = 0, ease_lambda: float | None = None) -> sp.csr_matrix:
    """The item-item matrix of ``kind`` ("bm25", "cosine" or "ease") on log(1 + weight)."""
    history = confidence(matrix, 1.0)
    if kind == "ease":
        return ease(history, settings.ease_lambda if ease_lambda is None else ease_lambda,
                    settings.ease_neighbours)
    return item_similarity(history, settings.neighbours, threads=threads, cosine=kind == "cosine")


def ease(matrix: sp.csr_matrix, regularization: float, neighbours: int) -> sp.csr_matrix:
    """EASE (Steck 2019), closed form: P = (XᵀX + λI)⁻¹, B = I − P·diag(1/diag(P)), zero diagonal; each
    row keeps its ``neighbours`` largest positive weights, so fold-in and storage stay sparse."""
    gram = (matrix.T @ matrix).toarray().astype(np.float32)
    gram[np.diag_indices_from(gram)] += regularization
    # XᵀX + λI is symmetric positive definite: a Cholesky inverse, in place, is several times LU's speed.
    factor, failed = lapack.spotrf(gram, lower=True, overwrite_a=True)
    inverse, failed = (factor, failed) if failed else lapack.spotri(factor, lower=True, overwrite_c=True)
    if failed:
        raise np.linalg.LinAlgError(f"EASE: the regularised Gram matrix is not positive definite (λ={regularization})")
    inverse = np.tril(inverse) + np.tril(inverse, -1).T  # spotri fills one triangle
    weights = inverse / -np.diag(inverse)
    del gram, factor, inverse
    np.fill_diagonal(weights, 0.0)
    keep = min(neighbours, weights.shape[1])
    columns = np.argpartition(-weights, keep - 1, axis=1)[:, :keep]
    values = np.take_along_axis(weights, columns, axis=1)
    rows = np.repeat(np.arange(weights.shape[0]), keep)
    sparse = sp.csr_matrix((values.ravel(), (rows, columns.ravel())), shape=weights.shape, dtype=np.float32)
    sparse.data[sparse.data < 0] = 0
    sparse.eliminate_zeros()
    return sparse


def item_similarity(matrix: sp.csr_matrix, neighbours: int, *, threads: int = 0,
                    cosine: bool = False) -> sp.csr_matrix:
    """implicit's BM25 (or cosine) item-item neighbours (products × products, ``neighbours`` per row)."""
    model = (CosineRecommender if cosine else BM25Recommender)(K=neighbours, num_threads=threads)
    with warnings.catch_warnings():  # implicit's own BM25 weighting hands its fit a COO matrix
        warnings.simplefilter("ignore", ParameterWarning)
        model.fit(matrix, show_progress=False)
    return model.similarity.tocsr().astype(np.float32)


def pack_item_data(model: TrainedModel, product_ids: np.ndarray) -> bytes:
    """The item-item matrix, popularity and column → product id as one npz blob, stored with the model
    for the real-time path (which has no product factors to read when the winner is not ALS)."""
    buffer = io.BytesIO()
    similarity = model.item_similarity
    np.savez(buffer, data=similarity.data, indices=similarity.indices, indptr=similarity.indptr,
             shape=np.array(similarity.shape), popularity=model.popularity, product_ids=product_ids)
    return buffer.getvalue()


def unpack_product_ids(blob: bytes) -> np.ndarray:
    with np.load(io.BytesIO(blob)) as arrays:
        return arrays["product_ids"]


def unpack_item_data(blob: bytes) -> tuple[sp.csr_matrix, np.ndarray]:
    with np.load(io.BytesIO(blob)) as arrays:
        similarity = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                   shape=tuple(arrays["shape"]))
        return similarity, arrays["popularity"]


def fold_in(model: TrainedModel, user_row: sp.csr_matrix) -> np.ndarray:
    """A customer's factors from their current interactions and the fixed product factors: the exact
    ALS least-squares step for one user as implicit takes it (the scaled value is the confidence c):
    x = (YᵀY + Σ (c − 1) y yᵀ + λI)⁻¹ Σ c y."""
    scaled = confidence(user_row, model.settings.alpha)
    items, conf = scaled.indices, scaled.data
    factors = model.product_factors
    if len(items) == 0 or factors.shape[1] == 0:
        return np.zeros(factors.shape[1], dtype=np.float32)
    y = factors[items]
    a = model.gram + (y.T * (conf - 1.0)) @ y + model.settings.regularization * np.eye(factors.shape[1])
    return np.linalg.solve(a, y.T @ conf).astype(np.float32)


def blended_scores(model: TrainedModel, customer_factors: np.ndarray, user_rows: sp.csr_matrix) -> np.ndarray:
    """Served score of every product for a batch of customers: ALS dot products, the item-item model's
    score of the customer's history (log-scaled) and popularity, each min-max normalised per customer
    and weighted by its share; parts without a share are not computed."""
    settings = model.settings
    shares = (settings.als_share, settings.item_item_share, settings.popularity_share)
    return next(blend_variants(model, customer_factors, user_rows, [shares]))


def blend_variants(model: TrainedModel, customer_factors: np.ndarray, user_rows: sp.csr_matrix,
                   variants: list[tuple[float, float, float]]) -> Iterator[np.ndarray]:
    """``blended_scores`` of the batch with each variant's (ALS, item-item, popularity) shares in place
    of the model's, in turn; each part is computed and min-max scaled once for all of them (selection
    scores several blends of the same ALS and item-item models)."""
    rows = user_rows.shape[0]
    parts = (lambda: customer_factors @ model.product_factors.T,
             lambda: np.asarray((confidence(user_rows, 1.0) @ model.item_similarity).todense(), dtype=np.float32),
             lambda: np.tile(model.popularity.astype(np.float32), (rows, 1)))
    has_factors = model.product_factors.shape[1] > 0
    scaled: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for variant in variants:
        used = [(share, part) for part, share in enumerate(variant) if share > 0 and (part > 0 or has_factors)]
        if len(used) == 1:  # one part ranks alike however it is scaled: the per-row scaling would only cost time
            yield parts[used[0][1]]()
            continue
        total = np.zeros((rows, model.popularity.shape[0]), dtype=np.float32)
        for share, part in used:
            if part not in scaled:
                scaled[part] = _min_max_shifted(parts[part]())
            shifted, spread = scaled[part]
            total += shifted * (share / spread)
        yield total


def _min_max_shifted(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, scores minus their minimum (in place) and their spread (1 where flat): scores × share ÷
    spread lie in [0, share], so ALS, item-item and popularity mix whatever their ranges."""
    low = scores.min(axis=1, keepdims=True)
    spread = scores.max(axis=1, keepdims=True) - low
    spread[spread == 0] = 1.0
    scores -= low
    return scores, spread


def top_n(scores: np.ndarray, exclude: sp.csr_matrix | None, available: np.ndarray | None,
          n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``n`` best columns (best first) and their scores, skipping excluded cells and
    unavailable columns. Rows with fewer candidates are padded with index -1. Overwrites ``scores``."""
    if available is not None:
        scores[:, ~available] = -np.inf
    if exclude is not None:
        rows, cols = exclude.nonzero()
        scores[rows, cols] = -np.inf
    # torch's top-k is ≈ 10× numpy's argpartition on a 1,024 × 20,000 batch (17 ms vs 170 ms);
    # imported here so web processes, which only read precomputed lists, never load torch.
    import torch

    best, indices = torch.from_numpy(scores).topk(min(n, scores.shape[1]), dim=1)
    best, indices = best.numpy(), indices.numpy()
    indices[~np.isfinite(best)] = -1
    return indices, best


def explanations(model: TrainedModel, recommended: np.ndarray, history: np.ndarray) -> np.ndarray:
    """For each recommended product, the history product whose factors are most alike (cosine), or,
    for a model without factors, the one whose item-item weight toward it is largest; -1 if none."""
    rows = sp.csr_matrix((np.ones(len(history), np.float32), history, [0, len(history)]),
                         shape=(1, model.popularity.shape[0]))
    return batch_explanations(model, np.asarray(recommended).reshape(1, -1), rows)[0]


def batch_explanations(model: TrainedModel, recommended: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
    """``explanations`` for a batch of customers: row i's recommended columns (-1 pads, at the end)
    against the columns of row i of ``histories`` in their stored order (the first wins a tie); -1 pads.
    Customers with as many recommendations and as long a history go through one stacked matmul, which
    computes each customer's cosines exactly as ``rec @ hist.T`` on its own would."""
    because = np.full(recommended.shape, -1, dtype=np.int64)
    counts = (recommended >= 0).sum(axis=1)
    lengths = np.diff(histories.indptr)
    factors = model.unit_factors if model.product_factors.shape[1] > 0 else None
    for count, length in {(c, h) for c, h in zip(counts.tolist(), lengths.tolist(), strict=True) if c and h}:
        rows = np.flatnonzero((counts == count) & (lengths == length))
        items = recommended[rows, :count]
        history = histories.indices[histories.indptr[rows][:, None] + np.arange(length)]
        if factors is not None:
            weights = factors[items] @ factors[history].transpose(0, 2, 1)  # rows × count × length
        else:  # the item-item weight from each history product toward each recommended one
            shape = (len(rows), count, length)
            weights = np.asarray(model.item_similarity[np.broadcast_to(history[:, None, :], shape).ravel(),
                                                       np.broadcast_to(items[:, :, None], shape).ravel()]
                                 ).reshape(shape)
        best = np.argmax(weights, axis=2)
        chosen = history[np.arange(len(rows))[:, None], best]
        if factors is None:  # an item-item weight of zero explains nothing
            chosen = np.where(weights.max(axis=2) > 0, chosen, -1)
        because[rows, :count] = chosen
    return because


def strongest_neighbours(similarity: sp.csr_matrix, available: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each product's ``n`` strongest positive neighbours in a products × products ``similarity`` (itself
    excluded, available ones only; -1 pads, never a filler of zeros), with their scores (-inf pads); ties
    go to the lower column. Sparse throughout: a row holds only its stored neighbours."""
    cells = sp.coo_matrix(similarity, dtype=np.float32)
    cells.sum_duplicates()
    keep = (cells.data > 0) & (cells.row != cells.col) & available[cells.col]
    rows, cols, values = cells.row[keep], cells.col[keep], cells.data[keep]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)  # place in its row, strongest first
    width = min(n, similarity.shape[1])
    top = rank < width
    indices = np.full((similarity.shape[0], width), -1, dtype=np.int64)
    scores = np.full((similarity.shape[0], width), -np.inf, dtype=np.float32)
    indices[rows[top], rank[top]] = cols[top]
    scores[rows[top], rank[top]] = values[top]
    return indices, scores


def behaviour_neighbours(matrix: sp.csr_matrix, available: np.ndarray, n: int, *, cosine: bool = False,
                         threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The co-behaviour half of "similar": each product's ``n`` strongest BM25 (or cosine) item-item
    neighbours in the customers × products ``matrix``, whatever model serves customers' lists (on a
    next-item test they beat the served model's item factors and its item-item part:
    docs/recommendations.md, "Evaluation"); training's selection picks the kind."""
    # implicit counts the product itself among its K neighbours
    return strongest_neighbours(item_similarity(matrix, neighbours=n + 1, threads=threads, cosine=cosine),
                                available, n)
