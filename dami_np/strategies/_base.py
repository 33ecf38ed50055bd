"""The strategy protocol and the registry that maps names to strategies.

A strategy is any callable ``strategy(context, budget, rng, **options) -> indices``:

- ``context`` is a :class:`~dami_np.strategies.QueryContext` (numeric ``X``, the ``labeled``
  mask, encoded labels ``y``, and the fitted model, built lazily on first access);
- ``budget`` is the number of rows to pick (already validated: ``1 <= budget <= n_unlabeled``);
- ``rng`` is the ``np.random.Generator`` made from ``query``'s ``random_state``;
- ``options`` are the strategy's own keyword-only parameters (``query`` rejects any other name).

It returns ``budget`` unique positions of unlabeled rows of ``context.X``, in pick order.

Register a new one with ``@register("name")`` (``needs_model=False`` for a model-free rule;
model-based strategies fall back to the cold-start rule when no model can be fit, see
``_cold_start``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from ._context import QueryContext

__all__ = ["Strategy", "register", "get", "available", "option_names", "needs_model", "x_through_model"]


@runtime_checkable
class Strategy(Protocol):
    """``(context, budget, rng, **options) -> int64 positions of unlabeled rows, in pick order``."""

    def __call__(
        self, context: QueryContext, budget: int, rng: np.random.Generator, **options: Any
    ) -> np.ndarray: ...


F = TypeVar("F", bound=Callable[..., np.ndarray])

_REGISTRY: dict[str, Callable[..., np.ndarray]] = {}
_POSITIONAL = 3  # context, budget, rng


def register(name: str, *, needs_model: bool = True, replace: bool = False,
             x_through_model: bool = False) -> Callable[[F], F]:
    """Decorator: make ``func`` available to ``query(..., strategy=name)``.

    ``needs_model`` marks strategies that read ``context.model``; with fewer than two labeled
    classes (and no fitted model given) ``query`` answers for them with the cold-start rule.
    ``x_through_model`` marks strategies that read ``context.X`` only through the model (which
    casts it to its own dtype first): the round may then give ``X`` in the model's dtype
    (float32 for the default model: half the memory, the same bits).
    Registering a taken name raises ``ValueError`` unless ``replace=True``.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"strategy name must be a non-empty string, got {name!r}")

    def decorator(func: F) -> F:
        if name in _REGISTRY and not replace:
            raise ValueError(f"strategy {name!r} is already registered; pass replace=True to override it")
        _check_signature(func, name)
        func.needs_model = needs_model  # type: ignore[attr-defined]
        func.x_through_model = x_through_model  # type: ignore[attr-defined]
        func.strategy_name = name  # type: ignore[attr-defined]
        _REGISTRY[name] = func
        return func

    return decorator


def get(name: str) -> Callable[..., np.ndarray]:
    """The strategy registered under ``name``; ``ValueError`` listing the available names otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown strategy {name!r}; available: {', '.join(available())}") from None


def available() -> list[str]:
    """Registered strategy names, sorted."""
    return sorted(_REGISTRY)


def needs_model(strategy: Callable[..., np.ndarray]) -> bool:
    """Whether ``strategy`` reads the model (unregistered callables are assumed to)."""
    return bool(getattr(strategy, "needs_model", True))


def x_through_model(strategy: Callable[..., np.ndarray]) -> bool:
    """True when ``strategy`` reads ``context.X`` only through the model (see ``register``)."""
    return bool(getattr(strategy, "x_through_model", False))


def option_names(strategy: Callable[..., np.ndarray]) -> list[str] | None:
    """Names of the options ``strategy`` accepts, or ``None`` if it takes ``**options``."""
    params = list(inspect.signature(strategy).parameters.values())[_POSITIONAL:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _check_signature(func: Callable[..., Any], name: str) -> None:
    """A strategy must accept ``(context, budget, rng)`` positionally."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return  # builtins and the like: trust the caller
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < _POSITIONAL and not any(p.kind is p.VAR_POSITIONAL for p in params):
        raise ValueError(f"strategy {name!r} must accept (context, budget, rng, **options)")
