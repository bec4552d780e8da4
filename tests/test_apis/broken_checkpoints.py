"""Broken variants of the inference world's checkpoint (``mpa_world.py``).

Each is a checkpoint an adversarial user (or a failing disk) could hand to
a loading path: incomplete, of the wrong type, non-finite, of another
class order, or with bytes flipped inside a tensor. Shared by the tests of
every loading path (apis, tools).
"""
import zipfile

import numpy as np
import torch

#: Variant -> the words the refusal must contain.
EXPECTED = {
    'empty': "missing key 'backbone.prompts'",
    'no_prompts': "missing key 'backbone.prompts'",
    'numpy_ctx': "'head.prompt_learner.ctx' is a numpy.ndarray",
    'nan_prompts': "'backbone.prompts' holds 1 NaN",
    'inf_ctx': "'head.prompt_learner.ctx' holds 0 NaN and 2 infinite",
    'int_prompts': "'backbone.prompts' has dtype torch.int64",
    'class_order': 'would be read under the wrong labels',
    'flipped': 'is corrupt: the bytes of',
}


def flip_tensor_byte(path, member_suffix=None):
    """Flip the lowest bit of one byte inside a tensor's data in a file.

    torch stores tensors uncompressed in the zip archive; the byte is the
    first of the largest data record (or of the record ending in
    ``member_suffix``). The archive stays readable (torch does not check
    the CRCs).
    """
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if '/data/' in i.filename]
        if member_suffix is not None:
            infos = [i for i in infos if i.filename.endswith(member_suffix)]
        info = max(infos, key=lambda i: i.file_size)
    with open(path, 'r+b') as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(f.read(4), '<u2')
        offset = info.header_offset + 30 + int(name_len) + int(extra_len)
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 1]))


def write_variants(world, folder):
    """Write every variant under ``folder``; return ``name -> path``."""
    from mpa_fer_plugin.utils.safe_checkpoint import atomic_torch_save
    base = torch.load(world['ckpt'], map_location='cpu', weights_only=False)
    state = base['state_dict']

    def save(name, new_state=None, meta=None, atomic=False):
        ckpt = dict(base, state_dict=dict(
            state if new_state is None else new_state))
        if meta is not None:
            ckpt['meta'] = meta
        path = str(folder / f'{name}.pth')
        (atomic_torch_save if atomic else torch.save)(ckpt, path)
        return path

    paths = dict(empty=save('empty', {}))
    paths['no_prompts'] = save('no_prompts', {
        k: v for k, v in state.items() if k != 'backbone.prompts'})
    paths['numpy_ctx'] = save('numpy_ctx', dict(
        state, **{'head.prompt_learner.ctx':
                  state['head.prompt_learner.ctx'].numpy()}))
    nan = state['backbone.prompts'].clone()
    nan[0, 0, 0] = float('nan')
    paths['nan_prompts'] = save('nan_prompts',
                                dict(state, **{'backbone.prompts': nan}))
    inf = state['head.prompt_learner.ctx'].clone()
    inf[0, :2] = float('inf')
    paths['inf_ctx'] = save('inf_ctx',
                            dict(state, **{'head.prompt_learner.ctx': inf}))
    paths['int_prompts'] = save('int_prompts', dict(
        state, **{'backbone.prompts': state['backbone.prompts'].long()}))
    classes = list(base['meta']['dataset_meta']['classes'])
    classes[0], classes[1] = classes[1], classes[0]
    paths['class_order'] = save('class_order', meta=dict(
        base['meta'], dataset_meta=dict(classes=tuple(classes))))
    paths['flipped'] = save('flipped', atomic=True)
    flip_tensor_byte(paths['flipped'])
    return paths
