"""Losses of the optional supervised heads (Cox, classification): pure functions of tensors. The VAE's KL term is
in ``oncoae.models.prior``."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def cox_partial_likelihood_loss(risk: torch.Tensor, time: torch.Tensor, event: torch.Tensor) -> torch.Tensor:
    """Negative Cox partial log-likelihood (Breslow, ties in arbitrary order) per event, over one batch.

    ``risk``, ``time`` and ``event`` have shape (batch,). Tumors with a missing time or event are left out;
    a batch without events contributes zero (its partial likelihood is constant).
    """
    usable = torch.isfinite(time) & torch.isfinite(event)
    n_events = event[usable].sum()
    if n_events <= 0:
        return risk.sum() * 0.0
    order = torch.argsort(time[usable], descending=True)
    ordered_risk = risk[usable][order]
    ordered_event = event[usable][order]
    # After sorting by descending time, the risk set of tumor i is tumors 0..i: a cumulative log-sum-exp.
    log_risk_set = torch.logcumsumexp(ordered_risk, dim=0)
    return -((ordered_risk - log_risk_set) * ordered_event).sum() / n_events


def classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy over the tumors with a known class (``labels`` >= 0); zero when none has one.

    ``class_weights`` (one per class): each tumor's term is weighted by its class's weight, and the batch's loss
    is the weighted mean (PyTorch's convention), so the loss keeps its scale whatever the weights.
    """
    known = labels >= 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[known], labels[known], weight=class_weights)
