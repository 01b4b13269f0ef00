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


def _add_min_max(total: np.ndarray, scores: np.ndarray, weight: float) -> None:
    """total += weight × scores scaled per row to [0, 1], so ALS, item-item and popularity can be mixed
    whatever their ranges. In place: a batch is 1,024 × the catalogue, temporaries cost more than maths."""
    low = scores.min(axis=1, keepdims=True)
    spread = scores.max(axis=1, keepdims=True) - low
    spread[spread == 0] = 1.0
    scores -= low
    scores *= weight / spread
    total += scores


def blended_scores(model: TrainedModel, customer_factors: np.ndarray, user_rows: sp.csr_matrix) -> np.ndarray:
    """Served score of every product for a batch of customers: ALS dot products, the item-item model's
    score of the customer's history (log-scaled) and popularity, each min-max normalised per customer
    and weighted by its share; parts without a share are not computed."""
    settings = model.settings
    shape = (user_rows.shape[0], model.popularity.shape[0])
    parts = [(share, part) for share, part in (
        (settings.als_share if model.product_factors.shape[1] > 0 else 0.0,
         lambda: customer_factors @ model.product_factors.T),
        (settings.item_item_share,
         lambda: np.asarray((confidence(user_rows, 1.0) @ model.item_similarity).todense(), dtype=np.float32)),
        (settings.popularity_share, lambda: np.tile(model.popularity.astype(np.float32), (shape[0], 1))),
    ) if share > 0]
    if len(parts) == 1:  # one part ranks alike however it is scaled: the per-row scaling would only cost time
        return parts[0][1]()
    scores = np.zeros(shape, dtype=np.float32)
    for share, part in parts:
        _add_min_max(scores, part(), share)
    return scores


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
    if len(history) == 0 or len(recommended) == 0:
        return np.full(len(recommended), -1)
    factors = model.product_factors
    if factors.shape[1] == 0:
        weights = model.item_similarity[history][:, recommended].toarray()
        best = np.argmax(weights, axis=0)
        return np.where(weights.max(axis=0) > 0, history[best], -1)
    norms = np.linalg.norm(factors[np.concatenate([recommended, history])], axis=1)
    norms[norms == 0] = 1.0
    rec = factors[recommended] / norms[: len(recommended), None]
    hist = factors[history] / norms[len(recommended):, None]
    return history[np.argmax(rec @ hist.T, axis=1)]


def strongest_neighbours(similarity: sp.csr_matrix, available: np.ndarray, n: int, batch_size: int = 2048
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Each product's ``n`` strongest positive neighbours in a products × products ``similarity`` (itself
    excluded, available ones only; -1 pads, never a filler of zeros), with their scores."""
    similarity = similarity.astype(np.float32).tocsr()
    indices, scores = [], []
    for start in range(0, similarity.shape[0], batch_size):
        block = similarity[start:start + batch_size].toarray()
        block[block <= 0] = -np.inf
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        best, best_scores = top_n(block, None, available, n)
        indices.append(best)
        scores.append(best_scores)
    return np.vstack(indices), np.vstack(scores)


def behaviour_neighbours(matrix: sp.csr_matrix, available: np.ndarray, n: int, *, cosine: bool = False,
                         threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The co-behaviour half of "similar": each product's ``n`` strongest BM25 (or cosine) item-item
    neighbours in the customers × products ``matrix``, whatever model serves customers' lists (on a
    next-item test they beat the served model's item factors and its item-item part:
    docs/recommendations.md, "Evaluation"); training's selection picks the kind."""
    # implicit counts the product itself among its K neighbours
    return strongest_neighbours(item_similarity(matrix, neighbours=n + 1, threads=threads, cosine=cosine),
                                available, n)
