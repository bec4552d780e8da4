"""webapp/cards.py: the card panel and the demo-domain banner."""
from types import SimpleNamespace

from mpa_fer_plugin.apis.model_card import DEMO_DOMAIN, REAL_DOMAIN
from mpa_fer_plugin.webapp import domain_warning, model_card


def test_domain_warning_follows_the_card():
    text = domain_warning(dict(domain=DEMO_DOMAIN))
    assert 'drawn faces of the demo world' in text and DEMO_DOMAIN in text
    assert domain_warning(dict(domain=REAL_DOMAIN)) is None
    assert domain_warning(None) is None


def test_model_card_of_a_pipeline():
    card = dict(kind='zero-shot', domain=DEMO_DOMAIN)
    got = model_card(SimpleNamespace(model_card=card, model=None))
    assert got == card and got is not card


def test_model_card_unreadable_says_why():
    class Broken:
        @property
        def _model_card(self):
            raise RuntimeError('broken card')

    got = model_card(SimpleNamespace(model=Broken()))
    assert got['error'].startswith('no model card: RuntimeError')
