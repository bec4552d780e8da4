"""A run's definition: what it covers, and how a change is named."""
import json
import os.path as osp

from sweep_helpers import write_sweep

from mpa_fer_plugin.sweep.identity import (
    Fingerprints,
    data_fingerprints,
    describe_change,
    flatten,
    run_state,
)
from mpa_fer_plugin.sweep.runner import META_FILE, identify
from mpa_fer_plugin.sweep.spec import load_sweep


def _record(spec, ident, result='{"metrics": {"accuracy/top1": 50.0}}'):
    """Leave the files of a finished run of ``ident``'s definition."""
    import os
    os.makedirs(spec.work_dir, exist_ok=True)
    with open(osp.join(spec.work_dir, META_FILE), 'w') as f:
        json.dump(dict(key=ident['definition']['key'],
                       definition=ident['definition'],
                       resolved=ident['resolved']), f)
    if result is not None:
        with open(osp.join(spec.work_dir, 'sweep_result.json'), 'w') as f:
            f.write(result)


def _state(sweep_file, work, row='A'):
    sweep = load_sweep(sweep_file, work_dir=str(work))
    runs = sweep.runs()
    spec = next(r for r in runs if r.row == row)
    return spec, identify(spec, sweep, runs, Fingerprints())


def test_same_definition_is_done_and_an_edited_lr_is_named(sweep_world,
                                                            tmp_path):
    work = tmp_path / 'w'
    path = write_sweep(tmp_path / 's.py', sweep_world, work)
    spec, ident = _state(path, work)
    assert ident['state'] == 'new'
    _record(spec, ident)
    assert _state(path, work)[1]['state'] == 'done'
    # the case: the row's lr edited, same work dir
    rows = (f"[dict(name='A', config={sweep_world['config']!r}, "
            "cfg_options={'optim_wrapper.optimizer.lr': 0.5})]")
    write_sweep(tmp_path / 's.py', sweep_world, work, rows=rows)
    _, changed = _state(path, work)
    assert changed['state'] == 'changed'
    assert 'optim_wrapper.optimizer.lr: 0.01 -> 0.5' in changed['detail']
    # the epochs and the selection are part of it too (a seed names
    # another run directory)
    write_sweep(tmp_path / 's.py', sweep_world, work,
                extra='epochs = 2\n')
    _, longer = _state(path, work)
    assert longer['state'] == 'changed'
    assert 'train_cfg.max_epochs: 1 -> 2' in longer['detail']
    write_sweep(tmp_path / 's.py', sweep_world, work,
                extra="selection = 'test'\n")
    _, selected = _state(path, work)
    assert selected['state'] == 'changed'
    assert 'save_best' in selected['detail']


def test_config_file_edit_and_data_edit_change_the_definition(
        sweep_world, tmp_path):
    import shutil
    world = dict(sweep_world, data_root=str(tmp_path / 'data'),
                 config=str(tmp_path / 'tiny.py'))
    shutil.copytree(sweep_world['data_root'], world['data_root'])
    shutil.copy(sweep_world['config'], world['config'])
    work = tmp_path / 'w'
    path = write_sweep(tmp_path / 's.py', world, work)
    spec, ident = _state(path, work)
    _record(spec, ident)
    # an annotation file of the data root is edited
    ann = [osp.join(r, f) for r, _, fs in
           __import__('os').walk(world['data_root']) for f in fs
           if f.endswith(('.txt', '.json', '.csv'))]
    assert ann, 'the tiny world has an annotation file'
    with open(ann[0], 'a') as f:
        f.write('\n')
    _, after_data = _state(path, work)
    assert after_data['state'] == 'changed'
    assert f'data {world["data_root"]}' in after_data['detail']
    # the row's config file itself is edited (its lr), not the options
    _record(spec, after_data)
    text = open(world['config']).read().replace('lr=0.01', 'lr=0.02')
    open(world['config'], 'w').write(text)
    _, after_cfg = _state(path, work)
    assert after_cfg['state'] == 'changed'
    assert 'optim_wrapper.optimizer.lr: 0.01 -> 0.02' in after_cfg['detail']


def test_corrupt_result_partial_run_and_unrecorded_files(sweep_world,
                                                         tmp_path):
    work = tmp_path / 'w'
    path = write_sweep(tmp_path / 's.py', sweep_world, work)
    spec, ident = _state(path, work)
    _record(spec, ident, result='{"metrics": {"accuracy/to')
    state = _state(path, work)[1]
    assert state['state'] == 'corrupt'
    assert osp.join(spec.work_dir, 'sweep_result.json') in state['detail']
    assert 'JSONDecodeError' in state['detail']
    _record(spec, ident, result='[1, 2]')
    assert 'expected a JSON object' in _state(path, work)[1]['detail']
    _record(spec, ident, result='{"selection": "last"}')
    assert 'no "metrics"' in _state(path, work)[1]['detail']
    # same definition, no result: an interrupted run (resumed)
    __import__('os').unlink(osp.join(spec.work_dir, 'sweep_result.json'))
    assert _state(path, work)[1]['state'] == 'partial'
    # a result written by an older version (no definition recorded)
    with open(osp.join(spec.work_dir, META_FILE), 'w') as f:
        json.dump(dict(key='0123'), f)
    old = _state(path, work)[1]
    assert old['state'] == 'changed' and 'older version' in old['detail']


def test_fingerprints_skip_the_sweep_dir_and_describe_missing(tmp_path):
    data = tmp_path / 'data'
    (data / 'img').mkdir(parents=True)
    (data / 'img' / 'a.jpg').write_bytes(b'x' * 10)
    (data / 'labels.txt').write_text('a.jpg 1\n')
    (tmp_path / 'sweep').mkdir()
    (tmp_path / 'sweep' / 'cache.pt').write_bytes(b'c')
    cfg = dict(train_dataloader=dict(dataset=dict(
        data_root=str(data), split_file=str(data / 'labels.txt'))),
        custom_hooks=[dict(cache=str(tmp_path / 'sweep' / 'cache.pt'))],
        test_dataloader=dict(dataset=dict(data_root='nowhere')),
        data_root=str(tmp_path))  # a top-level variable nothing reads
    fps = Fingerprints()
    found = data_fingerprints(cfg, str(tmp_path), str(tmp_path / 'sweep'),
                              fps)
    assert found[str(data)].startswith('2 files, sha256:')
    assert found[str(data / 'labels.txt')].startswith('sha256:')
    assert found['nowhere'] == 'missing'
    assert not any('cache.pt' in k for k in found)
    assert str(tmp_path) not in found
    assert len(found) == 3
    # an image's content is not read (name and size are)
    (data / 'img' / 'a.jpg').write_bytes(b'y' * 10)
    assert Fingerprints().directory(str(data)) == found[str(data)]
    (data / 'labels.txt').write_text('a.jpg 2\n')
    assert Fingerprints().directory(str(data)) != found[str(data)]


def test_describe_change_and_run_state_new(tmp_path):
    old = dict(definition=dict(data={'d': 'a'}, seed=0),
               resolved=flatten(dict(a=dict(b=1), c=[1, 2])))
    new_def = dict(data={'d': 'b'}, seed=0, config='x', key='k')
    text = describe_change(old, new_def, flatten(dict(a=dict(b=2), c=[1])))
    assert 'a.b: 1 -> 2' in text and 'c: [1, 2] -> [1]' in text
    assert 'data d: a -> b' in text
    assert run_state(str(tmp_path / 'none'), META_FILE, 'r.json',
                     dict(key='k'), {}) == ('new', '')
