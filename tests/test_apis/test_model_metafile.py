"""Metafile rows from model cards, the row update, the docs table."""
import pytest

from mpa_fer_plugin.apis.model_metafile import (
    TABLE_BEGIN,
    TABLE_END,
    card_results,
    docs_table_block,
    render_model_table,
    update_metafile,
    write_docs_table,
)

METAFILE = """# header kept
Models:
- Name: a
  Config: configs/mpa_fer_demo.py
  Metadata:
    Kind: prompt-tuned
  Results: []
  Weights: null
"""


def test_card_results():
    assert card_results(None) == []
    assert card_results(dict(metrics=None)) == []
    card = dict(metrics=dict(split='test', dataset='RAF-DB', epoch=3,
                             values={'accuracy/top1': 88.123,
                                     'single-label/recall': 80.0}))
    assert card_results(card) == [dict(
        Task='Facial Expression Recognition', Dataset='RAF-DB',
        Split='test', Metrics={'Top 1 Accuracy': 88.12, 'UAR': 80.0})]


def test_update_and_render(tmp_path):
    meta = tmp_path / 'metafile.yml'
    meta.write_text(METAFILE)
    index = tmp_path / 'model-index.yml'
    index.write_text('Import:\n  - metafile.yml\n')
    row = update_metafile(str(meta), 'a', 'packs/a-12345678.pth',
                          '12345678' + '0' * 56)
    assert row['Weights'] == 'packs/a-12345678.pth'
    assert meta.read_text().startswith('# header kept\n')
    with pytest.raises(KeyError, match="no row 'b'"):
        update_metafile(str(meta), 'b', 'x', 'y')
    table = render_model_table(str(index))
    assert '| `a` | prompt-tuned | `configs/mpa_fer_demo.py` |' in table
    assert '`a-12345678.pth` (12345678)' in table
    page = tmp_path / 'page.md'
    page.write_text(f'intro\n\n{TABLE_BEGIN}\nold\n{TABLE_END}\n\nrest\n')
    write_docs_table(str(page), str(index))
    text = page.read_text()
    assert docs_table_block(text) == table
    assert text.startswith('intro') and text.endswith('rest\n')
    with pytest.raises(ValueError, match='markers'):
        docs_table_block('no table')
