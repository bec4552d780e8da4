"""mpa_fer_plugin.demo.ablation: Table 1 steps against the previous step."""
import pytest

from mpa_fer_plugin.demo.ablation import steps_table


def _rec(row, seed, war, status='done'):
    return dict(row=row, seed=seed, status=status,
                metrics=dict(WAR=war, UAR=war - 1) if status == 'done'
                else {})


def test_steps_compare_with_the_previous_step_controls_with_reference():
    recs = [_rec('zero-shot CLIP', None, 30.0)]
    recs += [_rec('CoOp', s, w) for s, w in enumerate([40.0, 42.0, 44.0])]
    recs += [_rec('MPA-FER', s, w) for s, w in enumerate([41.0, 44.0, 47.0])]
    recs += [_rec('shuffled descriptions', 0, 35.0),
             _rec('shuffled descriptions', 1, 0.0, status='missing')]
    lines = steps_table(recs, {'CoOp': 'baseline'}).splitlines()
    coop = next(line for line in lines if line.startswith('| CoOp'))
    # CoOp vs the single zero-shot run: diffs 10, 12, 14 -> t-interval
    # 12 +- 4.303 * 2 / sqrt(3) = 12 +- 4.97
    assert '| baseline | 3/3 | 42.0 ± 2.0 |' in coop
    assert '+12.0 [+7.0, +17.0] | zero-shot CLIP |' in coop
    # MPA-FER is not a direct successor of CoOp in TABLE1, so it is
    # compared with 'IVLP + L_v + L_t', which has no runs: no difference.
    mpa = next(line for line in lines if line.startswith('| MPA-FER'))
    assert '| IVLP + L_v + L_t |' in mpa and '[' not in mpa
    ctrl = next(line for line in lines if line.startswith('| shuffled'))
    assert '| 1/2 |' in ctrl and '-6.0 | MPA-FER |' in ctrl


def test_rows_without_finished_runs_are_left_out():
    table = steps_table([_rec('CoOp', 0, 1.0, status='failed')])
    assert table.count('\n') == 1
    with pytest.raises(KeyError):
        steps_table([dict(seed=0)])
