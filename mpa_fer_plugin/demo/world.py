"""The demo world's data: its default size and a verified reuse of it."""
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.logging import print_log

from mpa_fer_plugin.datasets.synthetic import (
    MANIFEST,
    generate_synthetic_fer,
    verify_synthetic_fer,
)

#: The demo world of ``make demo``: 100 training and 300 test faces per
#: class (balanced), 64 px (the tiny CLIP's input), data seed 0.
DEMO_WORLD = dict(num_train=700, num_test=2100, size=64, seed=0,
                  num_classes=7)
#: Marker of a folder written by the first demo tool (before manifests).
LEGACY_STAMP = 'demo_world.json'


def ensure_world(data_root: str, num_train: int = DEMO_WORLD['num_train'],
                 num_test: int = DEMO_WORLD['num_test'],
                 seed: int = DEMO_WORLD['seed'],
                 size: int = DEMO_WORLD['size'],
                 class_weights: Optional[Sequence[float]] = None,
                 test_shift: Sequence[str] = (),
                 fresh: bool = False) -> dict:
    """Reuse ``data_root`` if its manifest verifies, else (re)generate it.

    A folder is reused only if :func:`verify_synthetic_fer` passes for the
    requested world (arguments, label-file hash, class counts, every image
    and mask present). A folder that fails and was written by the
    generator (it has a manifest, or the first demo tool's stamp) is
    regenerated; any other non-empty folder is refused, never deleted.

    Args:
        data_root (str): The world's folder (RAF-DB layout).
        num_train (int): Training faces.
        num_test (int): Test faces.
        seed (int): Data seed.
        size (int): Image side.
        class_weights (Sequence[float], optional): Class frequencies;
            None is balanced.
        test_shift (Sequence[str]): Shifted factors of the test split.
        fresh (bool): Regenerate a generated folder even if it verifies.

    Returns:
        dict: The folder's manifest.
    """
    want = dict(num_train=num_train, num_test=num_test, seed=seed,
                size=size, num_classes=7, test_shift=list(test_shift),
                class_weights=None if class_weights is None else
                [float(w) for w in class_weights])
    generated = any(osp.isfile(osp.join(data_root, f))
                    for f in (MANIFEST, LEGACY_STAMP))
    if osp.isdir(data_root) and os.listdir(data_root):
        if not generated:
            raise FileExistsError(
                f'{data_root} is not empty and holds no {MANIFEST} of the '
                'synthetic FER generator; pass another --data-root')
        if not fresh:
            try:
                manifest = verify_synthetic_fer(data_root, **want)
            except ValueError as err:
                print_log(f'regenerating {data_root}: {err}',
                          logger='current')
            else:
                print_log(f'reusing {data_root} (verified against its '
                          f'{MANIFEST}: {num_train} train / {num_test} test '
                          f'faces, seed {seed})', logger='current')
                return manifest
    generate_synthetic_fer(data_root, num_train=num_train,
                           num_test=num_test, size=size, seed=seed,
                           class_weights=class_weights,
                           test_shift=test_shift, overwrite=True)
    return verify_synthetic_fer(data_root, **want)
