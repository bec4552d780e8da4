"""Output of the dataset check: the text report and the contact sheets."""
import json
import os
import os.path as osp
from typing import List, Sequence, Tuple

import cv2
import numpy as np

#: Thumbnail side and columns of a contact sheet.
THUMB, COLUMNS = 64, 8
_TITLE_H = 28


def contact_sheet(images: Sequence[Tuple[str, np.ndarray]], title: str,
                  thumb: int = THUMB, columns: int = COLUMNS) -> np.ndarray:
    """A grid of thumbnails under a title bar, as a BGR image.

    Args:
        images (Sequence[tuple[str, np.ndarray]]): ``(name, BGR or gray
            image)`` pairs, drawn in order.
        title (str): Written in the title bar.
        thumb (int): Thumbnail side in pixels. Defaults to 64.
        columns (int): Thumbnails per row. Defaults to 8.

    Returns:
        np.ndarray: The sheet.
    """
    n = max(len(images), 1)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    width = max(cols * thumb, 8 * len(title) + 8)
    sheet = np.full((_TITLE_H + rows * thumb, width, 3), 255, np.uint8)
    cv2.putText(sheet, title, (4, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (0, 0, 0), 1, cv2.LINE_AA)
    for k, (_, img) in enumerate(images):
        img = np.asarray(img)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        cell = cv2.resize(img, (thumb, thumb), interpolation=cv2.INTER_AREA)
        r, c = divmod(k, cols)
        y = _TITLE_H + r * thumb
        sheet[y:y + thumb, c * thumb:(c + 1) * thumb] = cell
    return sheet


def write_contact_sheets(report: dict, out_dir: str,
                         split: str = '') -> List[str]:
    """One PNG per class of ``split`` (default: the first split read).

    Args:
        report (dict): From :func:`~.check.check_dataset`.
        out_dir (str): Output folder (created).
        split (str): Which split to draw. Defaults to the first.

    Returns:
        list[str]: The files written.
    """
    samples = report.get('samples') or {}
    if not samples:
        return []
    split = split or next(iter(samples))
    if split not in samples:
        raise ValueError(f'split {split!r} was not read; read: '
                         f'{sorted(samples)}')
    os.makedirs(out_dir, exist_ok=True)
    files = []
    counts = report['splits'][split]['per_class']
    for cls in counts:
        shown = samples[split].get(cls, [])
        title = (f'{report["dataset"]} {split}: {cls} ({counts[cls]} '
                 f'images, first {len(shown)} shown)')
        path = osp.join(out_dir, f'{report["dataset"]}_{split}_{cls}.png')
        cv2.imwrite(path, contact_sheet(shown, title))
        files.append(path)
    return files


def format_report(report: dict) -> str:
    """The text the tool prints: class order, counts, sizes, findings."""
    lines = [f'dataset {report["dataset"]} at {report["data_root"]}']
    if report.get('classes'):
        lines.append('class order of the model (index: name, native code):')
        lines += [f'  {c["index"]}: {c["name"]} (code {c["native_code"]})'
                  for c in report['classes']]
    source = report['expected_source']
    for split, info in report['splits'].items():
        ref = (report.get('reference') or {}).get(split, {})
        ref_total = ref.get('total', '-')
        extra = ' (FER2013 rows, csv layout)' if ref.get('rows') else ''
        lines.append(
            f'[{split}] {info["total"]} images, layout {info["layout"] or "-"}'
            f', dropped {info["num_dropped"]}; {source} total '
            f'{ref_total}{extra}')
        per = ref.get('per_class') or {}
        for cls, n in info['per_class'].items():
            lines.append(f'  {cls:<10} {n:>7}   {source} '
                         f'{per.get(cls, "-" if per else "not verified")}')
        s = info['sizes']
        common = ', '.join(f'{m["height"]}x{m["width"]}: {m["count"]}'
                           for m in s['most_common'])
        lines.append(f'  sizes: {s["distinct"]} distinct; shorter side '
                     f'min {s["min_side"]}, median {s["median_side"]}, max '
                     f'{s["max_side"]}; most common {common or "-"}')
    lines.append(f'images in two splits: '
                 f'{len(report["cross_split_duplicates"])}')
    lines.append(f'counts compared with: {report["expected_source"]}')
    lines += [f.line() for f in report['findings']]
    fails = sum(f['level'] == 'FAIL' for f in report['findings'])
    lines.append('RESULT: PASS' if report['passed'] else
                 f'RESULT: FAIL ({fails} problem(s))')
    return '\n'.join(lines)


def write_json(report: dict, path: str) -> None:
    """The report without the thumbnails, as JSON."""
    data = {k: v for k, v in report.items() if k != 'samples'}
    data['findings'] = [dict(f) for f in report['findings']]
    with open(path, 'w') as f:
        json.dump(data, f, indent=2)
