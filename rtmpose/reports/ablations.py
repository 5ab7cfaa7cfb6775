"""The ablation variants as the tables see them: what params.yaml `ablations.variants` declares (the
paper rows each reproduces). Running them is rtmpose.train.ablation's job (`rtmpose ablate`); the tables
read the results it wrote (rtmpose.reports.measured)."""
from __future__ import annotations

from rtmpose.errors import Error


def variant_table(params_path: str = 'params.yaml') -> dict[str, dict]:
    """Plain dicts for the table builders; empty when params.yaml has no valid `ablations` section."""
    from rtmpose.train.ablation import load_ablations   # reads the declarations only; trains nothing
    try:
        _, variants = load_ablations(params_path)
    except Error:
        return {}
    return {k: dict(roadmap=v.roadmap, table03=v.table03, grids=v.grids, description=v.description,
                    unsupported=v.unsupported)
            for k, v in variants.items()}
