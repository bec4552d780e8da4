"""Test on the class names of the test set through the learned context.

Base-to-novel and cross-dataset evaluation test a model on classes other
than those it was trained on. With a context shared by all classes
(docs/method.md) any class name can be put into the learned prompt
``[SOS][v_1..v_M][name].[EOS]`` and encoded by the frozen text tower
(:func:`mpa_fer_plugin.apis.encode_classnames`), so the model scores the
test set's classes with the same CGLA rule as its own.

:class:`EvalClassNamesHook` does this for the test loop: before testing it
encodes the test dataset's ``metainfo['classes']``, makes the prompt head
score them, and restores the training classes afterwards. It reports, in
the log and in ``{work_dir}/eval_classes.json``, which test classes the
model never saw in training and which training classes the test set lacks
(classes on one side only are never dropped silently; drop test images of
unseen classes explicitly with the ``ClassSubset`` dataset wrapper, which
counts them). A class-specific context (CSC) cannot encode new names: the
hook refuses with an error.
"""
import json
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

#: Written into the work dir at every test.
REPORT_FILE = 'eval_classes.json'


def _dataset(loader):
    dataset = getattr(loader, 'dataset', None)
    return dataset


@HOOKS.register_module()
class EvalClassNamesHook(Hook):
    """Score the test dataset's classes with the learned shared context.

    Runs before :class:`MPAClassNameCheckHook` (priority ``'HIGHEST'``),
    lets it check the loaded checkpoint against the *training* classes
    first, then swaps the head's class names to the test classes (so the
    check of the test dataset passes and predictions are indexed like its
    labels).

    Args:
        stages (Sequence[str]): ``'test'`` and/or ``'val'``. Default
            ``('test',)`` (validation during training keeps the training
            classes).
    """

    priority = 'HIGHEST'

    def __init__(self, stages=('test', )) -> None:
        bad = set(stages) - {'test', 'val'}
        if bad:
            raise ValueError(f'EvalClassNamesHook: unknown stages {bad}')
        self.stages = tuple(stages)
        self._saved: Optional[tuple] = None

    @staticmethod
    def _head(runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        head = getattr(model, 'head', None)
        if head is None or not hasattr(head, 'prompt_learner'):
            raise TypeError('EvalClassNamesHook needs a model with an '
                            f'MPAPromptHead, got {type(model).__name__}')
        return model, head

    def _swap(self, runner, loader_attr: str) -> None:
        from ..apis.open_vocab import encode_classnames
        from ..engine.hooks.class_name_check_hook import (
            MPAClassNameCheckHook,
        )
        dataset = _dataset(getattr(runner, loader_attr))
        classes = tuple((getattr(dataset, 'metainfo', None) or {}).get(
            'classes') or ())
        if not classes:
            raise ValueError('EvalClassNamesHook: the test dataset has no '
                             "metainfo['classes']")
        model, head = self._head(runner)
        trained = tuple(head.classnames)
        lower = [c.lower() for c in trained]
        unseen = [c for c in classes if c.lower() not in lower]
        absent = [c for c in trained
                  if c.lower() not in {x.lower() for x in classes}]
        report = dict(
            trained_classes=list(trained), test_classes=list(classes),
            unseen_test_classes=unseen, train_only_classes=absent,
            dropped_test_images=dict(
                (getattr(dataset, 'metainfo', None) or {}).get(
                    'dropped_classes') or {}))
        if trained != classes:
            if head.prompt_learner.class_specific_ctx:
                raise ValueError(
                    'EvalClassNamesHook: the head uses a class-specific '
                    'context (class_specific_ctx=True), which exists only '
                    f'for its training classes {trained}; it cannot score '
                    f'the test classes {classes}. Base-to-novel and '
                    'cross-dataset testing on other classes need a shared '
                    'context (class_specific_ctx=False)')
            checks = [h for h in runner.hooks
                      if isinstance(h, MPAClassNameCheckHook)]
            for check in checks:  # checkpoint vs. training classes
                check.check_checkpoint(runner.model)
            feats = encode_classnames(model, classes)
            # every module that names the classes (head, prompt learner)
            named = [(m, m.classnames) for m in model.modules()
                     if getattr(m, 'classnames', None) is not None]
            self._saved = (named, [(c, c._ckpt_classes) for c in checks])
            for check in checks:
                check._ckpt_classes = None
            for module, _ in named:
                module.classnames = classes
            head.text_features = lambda: feats
            print_log(
                f'EvalClassNamesHook: scoring the {len(classes)} test '
                f'classes {classes} through the learned context (trained '
                f'on {trained}); never seen in training: {unseen or "none"}'
                f'; training classes absent from the test set: '
                f'{absent or "none"}', logger='current')
        if is_main_process():
            with open(osp.join(runner.work_dir, REPORT_FILE), 'w') as f:
                json.dump(report, f, indent=1)
        runner.message_hub.update_info('eval_classes', report)

    def _restore(self, runner) -> None:
        if self._saved is None:
            return
        _, head = self._head(runner)
        named, checks = self._saved
        for module, names in named:
            module.classnames = names
        if 'text_features' in vars(head):
            del head.text_features
        for check, value in checks:
            check._ckpt_classes = value
        self._saved = None

    def before_test(self, runner) -> None:
        """Swap to the test classes."""
        if 'test' in self.stages:
            self._swap(runner, 'test_dataloader')

    def after_test(self, runner) -> None:
        """Restore the training classes."""
        self._restore(runner)

    def before_val(self, runner) -> None:
        """Swap to the validation classes (if ``'val'`` in stages)."""
        if 'val' in self.stages:
            self._swap(runner, 'val_dataloader')

    def after_val(self, runner) -> None:
        """Restore the training classes."""
        self._restore(runner)
