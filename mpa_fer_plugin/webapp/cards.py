"""The model card panel: what a model says it was trained on.

The card comes from :func:`~mpa_fer_plugin.apis.model_card.read_model_card`
(the one stored in the checkpoint, or one built from the config for a
model without a checkpoint); the page shows it as it is, and a banner for
models made on the drawn demo world, decided from the card's domain, never
from the pixels of the input.
"""
from typing import Any, Dict, Optional

from ..apis.model_card import DEMO_DOMAIN, read_model_card


def model_card(pipeline: Any) -> Dict[str, Any]:
    """The card of a pipeline's model (a dict; ``error`` if unreadable).

    Args:
        pipeline (FERPipeline): A built pipeline (or anything with
            ``model``).

    Returns:
        dict: The card.
    """
    card = getattr(pipeline, 'model_card', None)
    if not isinstance(card, dict):
        try:
            card = read_model_card(pipeline.model)
        except Exception as e:  # the page shows why
            return dict(error=f'no model card: {type(e).__name__}: {e}')
    return dict(card) if card else dict(error='no model card')


def domain_warning(card: Optional[Dict[str, Any]]) -> Optional[str]:
    """The banner for a model made on the demo world, else None."""
    if not card or card.get('domain') != DEMO_DOMAIN:
        return None
    return ('This model knows only the drawn faces of the demo world '
            f'(model card: domain {DEMO_DOMAIN!r}): on real photographs '
            'its labels are not expression predictions. For real faces use '
            'a zero-shot CLIP config (configs/zero_shot) or a model trained '
            'on a real FER dataset.')
