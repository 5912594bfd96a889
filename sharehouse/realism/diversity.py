"""How distinguishable people are from one another by the style of their replies."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel


class Diversity(BaseModel):
    """Leave-one-out nearest-centroid accuracy of telling who wrote a reply, against chance."""

    accuracy: float
    chance: float
    people: int
    replies: int

    @property
    def lift(self) -> float:
        """accuracy / chance: 1.0 means people are indistinguishable by style."""
        return self.accuracy / self.chance if self.chance else 0.0


def nearest_centroid_diversity(people: dict[str, list[list[float]]]) -> Diversity | None:
    """Each reply is assigned to the person whose style centroid (without that reply) is nearest.

    Features are standardised over all replies first. People with fewer than two replies are left
    out; ``None`` when fewer than two people remain.
    """
    kept = {pid: rows for pid, rows in people.items() if len(rows) >= 2}
    if len(kept) < 2:
        return None
    ids = sorted(kept)
    x = np.array([row for pid in ids for row in kept[pid]], dtype=float)
    owner = np.array([i for i, pid in enumerate(ids) for _ in kept[pid]])
    std = x.std(axis=0)
    x = np.where(std > 0, (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0), 0.0)
    counts = np.bincount(owner, minlength=len(ids)).astype(float)
    sums = np.zeros((len(ids), x.shape[1]))
    np.add.at(sums, owner, x)
    centroids = sums / counts[:, None]
    dist = ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    own_loo = (sums[owner] - x) / (counts[owner] - 1)[:, None]
    dist[np.arange(len(x)), owner] = ((x - own_loo) ** 2).sum(axis=1)
    predicted = dist.argmin(axis=1)
    return Diversity(
        accuracy=float((predicted == owner).mean()),
        chance=1.0 / len(ids),
        people=len(ids),
        replies=int(len(x)),
    )
