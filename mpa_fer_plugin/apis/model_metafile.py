"""The metafile side of the model zoo: rows from model cards, the
``Weights``/``SHA256`` update after publishing, and the Markdown table of
docs/model_zoo.md (generated from the index; a test checks they agree)."""
import os.path as osp
from typing import Any, Dict, List, Optional

from .model_zoo import _meta, load_model_index


def card_results(card: Optional[Dict[str, Any]]) -> List[dict]:
    """The metafile ``Results`` of a model card's metrics (may be empty)."""
    metrics = (card or {}).get('metrics') or {}
    values = metrics.get('values') or {}
    named = {'Top 1 Accuracy': 'accuracy/top1',
             'UAR': 'single-label/recall'}
    found = {k: round(float(values[v]), 2) for k, v in named.items()
             if v in values}
    if not found:
        return []
    return [dict(Task='Facial Expression Recognition',
                 Dataset=metrics.get('dataset') or '?',
                 Split=metrics.get('split'), Metrics=found)]


def update_metafile(metafile: str, name: str, weights: str, sha256: str,
                    results: Optional[List[dict]] = None) -> dict:
    """Fill in ``Weights``, ``Metadata.SHA256`` (and ``Results``) of a row.

    The leading comment lines of the file are kept; the rest is rewritten
    by PyYAML in the same key order.

    Args:
        metafile (str): The metafile (e.g. ``configs/mpa_fer/metafile.yml``).
        name (str): The row (``Name``); it must exist.
        weights (str): The URL or the path relative to the repository root.
        sha256 (str): The weights' SHA256.
        results (list[dict], optional): New ``Results``; None keeps them.

    Returns:
        dict: The updated row.
    """
    import yaml
    with open(metafile, encoding='utf-8') as f:
        text = f.read()
    header = ''.join(ln + '\n' for ln in text.splitlines()
                     if ln.startswith('#'))
    data = yaml.safe_load(text) or {}
    rows = [m for m in data.get('Models') or [] if m.get('Name') == name]
    if not rows:
        raise KeyError(f'no row {name!r} in {metafile}; add it (Name, '
                       'Config, Metadata) first')
    row = rows[0]
    row['Weights'] = weights
    row.setdefault('Metadata', {})['SHA256'] = sha256
    if results is not None:
        row['Results'] = results
    with open(metafile, 'w', encoding='utf-8') as f:
        f.write(header + yaml.safe_dump(data, sort_keys=False, width=79))
    return row


#: Markers around the generated table in docs/model_zoo.md.
TABLE_BEGIN = '<!-- model-index table: generated, do not edit -->'
TABLE_END = '<!-- end of the model-index table -->'


def render_model_table(index: Optional[str] = None) -> str:
    """The model index as a Markdown table (docs/model_zoo.md).

    Args:
        index (str, optional): See :func:`load_model_index`.

    Returns:
        str: The table, one row per model.
    """
    lines = ['| Name | Kind | Config | Base CLIP | Trained on (domain) | '
             'Results | Weights (sha256) |',
             '|---|---|---|---|---|---|---|']
    for name, model in load_model_index(index).items():
        meta = _meta(model)
        clip = meta.get('Base CLIP') or {}
        base = clip.get('Model') or '?'
        source = clip.get('Tag') or clip.get('File')
        if source:
            base += f' ({source})'
        trained = meta.get('Training Data') or '-'
        if meta.get('Domain'):
            trained += f" ({meta['Domain']})"
        results = []
        for res in model.get('Results') or []:
            values = ', '.join(f'{k} {v}'
                               for k, v in (res.get('Metrics') or {}).items())
            results.append(f"{res.get('Dataset')} {res.get('Split') or ''}"
                           .strip() + f': {values}')
        weights = model.get('Weights')
        if weights:
            sha = (meta.get('SHA256') or '')[:8]
            weights = f'`{osp.basename(weights)}` ({sha})'
        else:
            weights = ('none needed' if meta.get('Kind') == 'zero-shot'
                       else 'not trained yet')
        lines.append(
            f"| `{name}` | {meta.get('Kind', '?')} | "
            f"`{model.get('Config')}` | {base} | {trained} | "
            f"{'; '.join(results) or '-'} | {weights} |")
    return '\n'.join(lines) + '\n'


def docs_table_block(text: str) -> str:
    """The generated table between :data:`TABLE_BEGIN` and
    :data:`TABLE_END` of a docs page."""
    if TABLE_BEGIN not in text or TABLE_END not in text:
        raise ValueError('the page has no model-index table markers')
    return text.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0].strip('\n') \
        + '\n'


def write_docs_table(page: str, index: Optional[str] = None) -> None:
    """Rewrite the generated table of a docs page from the index."""
    with open(page, encoding='utf-8') as f:
        text = f.read()
    docs_table_block(text)  # checks the markers
    head, rest = text.split(TABLE_BEGIN, 1)
    tail = rest.split(TABLE_END, 1)[1]
    with open(page, 'w', encoding='utf-8') as f:
        f.write(f'{head}{TABLE_BEGIN}\n{render_model_table(index)}'
                f'{TABLE_END}{tail}')
