"""Contact sheets and the printed report of the dataset check."""
import json

import numpy as np

from mpa_fer_plugin.datasets.check import Finding
from mpa_fer_plugin.datasets.check_sheets import (
    contact_sheet,
    format_report,
    write_json,
)


def test_contact_sheet_grid_and_gray_images():
    images = [(f'img{k}', np.full((10, 20, 3), k * 20, np.uint8))
              for k in range(9)] + [('gray', np.zeros((5, 5), np.uint8))]
    sheet = contact_sheet(images, 'rafdb train: Anger', thumb=16, columns=4)
    # 10 images in rows of 4; wide enough for the 18-character title
    assert sheet.shape == (28 + 3 * 16, 8 * 18 + 8, 3)
    # the second thumbnail holds the second image's value
    assert (sheet[28 + 8, 16 + 8] == 20).all()
    empty = contact_sheet([], 'no images')
    assert empty.shape[0] == 28 + 64


def _report(findings):
    return dict(
        dataset='rafdb', data_root='/data/rafdb', expected_source='expected',
        reference={'train': dict(total=3, per_class={'Anger': 2})},
        classes=[dict(index=0, name='Anger', native_code=6)],
        splits={'train': dict(total=2, per_class={'Anger': 2},
                              layout='folder', num_dropped=0,
                              sizes=dict(distinct=1, most_common=[
                                  dict(height=8, width=8, count=2)],
                                  min_side=8, median_side=8.0, max_side=8))},
        cross_split_duplicates=[], findings=findings,
        passed=not findings, samples={})


def test_format_report_lines(tmp_path):
    fail = Finding(level='FAIL', split='train',
                   message='2 images, expected count is 3 (-1)')
    text = format_report(_report([fail]))
    assert '  0: Anger (code 6)' in text
    assert '[train] 2 images, layout folder, dropped 0; expected total 3' \
        in text
    assert 'FAIL: [train] 2 images, expected count is 3 (-1)' in text
    assert text.endswith('RESULT: FAIL (1 problem(s))')
    assert format_report(_report([])).endswith('RESULT: PASS')
    write_json(_report([fail]), str(tmp_path / 'r.json'))
    saved = json.loads((tmp_path / 'r.json').read_text())
    assert saved['findings'][0]['level'] == 'FAIL'
    assert 'samples' not in saved
