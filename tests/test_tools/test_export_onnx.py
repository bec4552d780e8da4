"""tools/deployment/export_onnx.py: graph without text tower, parity."""
import glob
import os.path as osp
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import get_model, get_world, load_tool  # noqa: E402

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')
export_tool = load_tool('deployment/export_onnx.py')


@pytest.fixture(scope='module')
def world(tmp_path_factory, tiny_clip_spec):
    return get_world(tmp_path_factory, tiny_clip_spec)


def test_export_and_parity(world, tmp_path, capsys):
    out = str(tmp_path / 'mpa.onnx')
    report = export_tool.main([world['config'], world['ckpt'], '--out', out])
    assert report['max_abs_diff_logits'] < 1e-4
    assert report['max_abs_diff_scores'] < 1e-6
    assert 'Anger' in capsys.readouterr().out

    graph = onnx.load(out)
    assert [i.name for i in graph.graph.input] == ['image']
    assert [o.name for o in graph.graph.output] == ['logits', 'scores']
    assert graph.opset_import[0].version == 17
    ops = [n.op_type for n in graph.graph.node]
    assert 'TopK' in ops
    # The text features are one constant [C, D]; the text tower (2 more
    # LayerNorms per block + ln_final) is not in the graph. The image tower
    # has 2 per block plus ln_pre on the patches and on the first-layer
    # prompts (prompt_ln_pre=True) and ln_post on the CLS and patch tokens.
    consts = {i.name: tuple(i.dims) for i in graph.graph.initializer}
    assert consts['text_feats'] == (7, 32)
    blocks = len(get_model(world).backbone.visual.transformer.resblocks)
    assert 2 * blocks <= ops.count('LayerNormalization') <= 2 * blocks + 4

    # Real faces, raw RGB 0-255 crops in; mmpretrain's pred_score out.
    from mpa_fer_plugin.apis import MPAFERInferencer, prepare_images
    model = get_model(world)
    paths = sorted(glob.glob(osp.join(world['image_dir'], 'test_*.jpg')))
    _, crops = prepare_images(model, paths[:4])
    rgb = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32)
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    logits, scores = session.run(None, {'image': rgb})
    assert logits.shape == scores.shape == (4, 7)  # dynamic batch
    expected = np.stack([r['pred_scores']
                         for r in MPAFERInferencer(model)(paths[:4])])
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_normalized_input(world, tmp_path):
    from mpa_fer_plugin.apis import check_onnx_parity, export_onnx
    model = get_model(world)
    out = export_onnx(model, str(tmp_path / 'norm.onnx'),
                      input_format='normalized', batch_size=2)
    report = check_onnx_parity(model, out, input_format='normalized',
                               batch_size=5)
    assert report['max_abs_diff_logits'] < 1e-4


def test_bad_arguments(world, tmp_path):
    from mpa_fer_plugin.apis import MPAFERExportModule, export_onnx
    model = get_model(world)
    with pytest.raises(ValueError, match="input_format='bgr'"):
        MPAFERExportModule(model, input_format='bgr')
    with pytest.raises(FileNotFoundError, match='output folder not found'):
        export_onnx(model, str(tmp_path / 'no' / 'dir' / 'm.onnx'))
    with pytest.raises(ValueError, match='csc.pth'):
        export_tool.main([world['config'], world['ckpt_csc'], '--out',
                          str(tmp_path / 'x.onnx')])
    assert torch.is_tensor(MPAFERExportModule(model).text_feats)


def test_int8_export(world, tmp_path, capsys):
    """--int8: a smaller graph with int8 MatMuls that still classifies."""
    import os
    out = str(tmp_path / 'mpa.onnx')
    report = export_tool.main([world['config'], world['ckpt'], '--out', out,
                               '--int8', '--threads', '1',
                               '--trust-checkpoint'])
    int8_file = str(tmp_path / 'mpa.int8.onnx')
    assert f'wrote {out}, {int8_file}' in capsys.readouterr().out
    assert report['max_abs_diff_logits'] < 1e-4  # fp32 unchanged
    graph = onnx.load(int8_file)
    ops = {n.op_type for n in graph.graph.node}
    assert {'MatMulInteger', 'DynamicQuantizeLinear'} <= ops
    assert 'TopK' in ops
    int8_weights = [i for i in graph.graph.initializer
                    if i.data_type == onnx.TensorProto.INT8]
    assert len(int8_weights) >= 4  # qkv / out / fc / proj of the blocks
    assert os.path.getsize(int8_file) < os.path.getsize(out)
    # Quantised, so not bit-equal; close in scores and mostly the same
    # predicted class on random images.
    q = report['int8']
    assert 0 < q['max_abs_diff_logits']
    assert q['max_abs_diff_scores'] < 0.2
    assert q['top1_agreement'] >= 0.5

    from mpa_fer_plugin.apis import ort_session, quantize_onnx
    session = ort_session(int8_file, threads=1)
    logits, scores = session.run(
        None, {'image': np.random.rand(2, 3, 32, 32).astype(np.float32)})
    assert logits.shape == scores.shape == (2, 7)
    np.testing.assert_allclose(scores.sum(-1), 1, atol=1e-5)
    with pytest.raises(ValueError, match='would overwrite'):
        quantize_onnx(out, out)
    with pytest.raises(FileNotFoundError, match='ONNX file not found'):
        quantize_onnx(str(tmp_path / 'none.onnx'), int8_file)
