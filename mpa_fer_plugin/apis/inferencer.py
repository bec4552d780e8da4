"""mmpretrain's image-classification inferencer, tuned for MPA-FER."""
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import default_collate
from mmengine.utils import ProgressBar
from mmpretrain.apis import ImageClassificationInferencer
from mmpretrain.structures import DataSample

from .image_input import warn_if_small
from .inference import (
    init_mpa_model,
    list_images,
    load_image,
    load_mpa_checkpoint,
)
from .open_vocab import _check_names, encode_classnames, score_classnames


class MPAFERInferencer(ImageClassificationInferencer):
    """``ImageClassificationInferencer`` with top-k, clear errors, new names.

    The stock inferencer works on MPA-FER configs and checkpoints as it is;
    this subclass adds:

    * a checkpoint (``pretrained``) is checked against the config before
      it is loaded (:func:`~mpa_fer_plugin.apis.load_mpa_checkpoint`);
    * a folder input gives its image files only, with a progress bar;
    * unreadable images raise an error naming the file;
    * every result has ``topk``: the ``topk`` best ``(class, score)`` pairs;
    * ``classnames``: score against arbitrary class names with the learned
      context (**experimental** open-vocabulary scoring, see
      :mod:`mpa_fer_plugin.apis.open_vocab`).

    Args:
        model (str | BaseModel): A config path or a built model.
        pretrained (str, optional): Checkpoint file. Defaults to None.
        device (str, optional): Device. Defaults to None (CPU for a config
            path, the model's device otherwise).
        classnames (Sequence[str], optional): Score against these names
            instead of the training classes (experimental). Defaults to
            None.
        topk (int): Number of ``(class, score)`` pairs per result.
            Defaults to 3.
        **kwargs: Passed to ``ImageClassificationInferencer``.
    """

    def __init__(self,
                 model,
                 pretrained: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 classnames: Optional[Sequence[str]] = None,
                 topk: int = 3,
                 **kwargs) -> None:
        if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
            raise ValueError(f'topk={topk!r} must be an int >= 1')
        if isinstance(model, (str, Path)):
            model = init_mpa_model(str(model), pretrained,
                                   device=device or 'cpu')
        else:
            if not hasattr(model, '_config'):
                raise ValueError(
                    'a model object needs its config in `_config`; build it '
                    'with mmpretrain.apis.get_model or '
                    'mpa_fer_plugin.apis.init_mpa_model')
            if isinstance(pretrained, str):
                load_mpa_checkpoint(model, pretrained)
        self.open_names = None
        self.open_text_feats = None
        if classnames is not None:
            self.open_names = _check_names(classnames)
            self.open_text_feats = encode_classnames(model, self.open_names)
            kwargs['classes'] = self.open_names
        super().__init__(model=model, pretrained=False, device=device,
                         **kwargs)
        self.topk = topk

    def __call__(self,
                 inputs,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 progress: Optional[bool] = None,
                 **kwargs) -> list:
        """Predict images (the stock inferencer's call, own progress bar).

        Args:
            inputs (str | np.ndarray | list): An image path or array, a
                folder (its images, see
                :func:`~mpa_fer_plugin.apis.list_images`) or a list.
            return_datasamples (bool): Return ``DataSample``s. Defaults to
                False.
            batch_size (int): Images per forward pass. Defaults to 1.
            progress (bool, optional): Show a progress bar; None: only for
                more than one batch. Defaults to None.
            **kwargs: Visualisation options of the stock inferencer
                (``show_dir``, ``show``, ``draw_score``, ...).

        Returns:
            list: One result dict (or ``DataSample``) per image.
        """
        pre_kw, fwd_kw, vis_kw, post_kw = self._dispatch_kwargs(**kwargs)
        ori_inputs = self._inputs_to_list(inputs)
        if progress is None:
            progress = len(ori_inputs) > batch_size
        bar = ProgressBar(len(ori_inputs)) if progress else None
        preds = []
        for data in self.preprocess(ori_inputs, batch_size=batch_size,
                                    **pre_kw):
            batch = self.forward(data, **fwd_kw)
            preds.extend(batch)
            for _ in batch if bar is not None else ():
                bar.update()
        if bar is not None:
            bar.file.write('\n')
            bar.file.flush()
        visualization = self.visualize(ori_inputs, preds, **vis_kw)
        return self.postprocess(preds, visualization, return_datasamples,
                                **post_kw)

    def _inputs_to_list(self, inputs) -> list:
        """A folder gives its image files; anything else as upstream."""
        if isinstance(inputs, (str, Path)) and osp.isdir(inputs):
            return list_images(str(inputs))
        return super()._inputs_to_list(inputs)

    def preprocess(self, inputs: List, batch_size: int = 1):
        """Decode (naming unreadable files) and run the test pipeline.

        Arrays are converted or refused by :func:`load_image`; an input far
        smaller than the model's gives a ``SmallImageWarning``.
        """

        def load(input_):
            img = load_image(input_)
            warn_if_small(self.model, img, input_ if isinstance(
                input_, str) else 'an input image')
            return dict(img=img, img_shape=img.shape[:2],
                        ori_shape=img.shape[:2])

        items = map(lambda x: self.pipeline(load(x)), inputs)
        yield from map(default_collate,
                       self._get_chunk_data(items, batch_size))

    def forward(self, inputs: dict, **kwargs) -> List[DataSample]:
        """Predict a batch; with ``classnames``, score those names."""
        if self.open_names is None:
            return super().forward(inputs, **kwargs)
        data = self.model.data_preprocessor(inputs, False)
        logits = score_classnames(self.model, data['inputs'],
                                  self.open_names, self.open_text_feats)
        scores = logits.softmax(dim=-1)
        return [
            DataSample().set_pred_score(s).set_pred_label(s.argmax())
            for s in scores
        ]

    def postprocess(self,
                    preds: List[DataSample],
                    visualization: List[np.ndarray],
                    return_datasamples: bool = False) -> list:
        """Results of the stock inferencer plus ``topk`` pairs.

        Non-finite scores raise ``FloatingPointError``: no result holds a
        NaN score.
        """
        for i, pred in enumerate(preds):
            scores = pred.pred_score
            if not bool(torch.isfinite(scores).all()):
                raise FloatingPointError(
                    f'the model gave non-finite scores for input {i} '
                    f'({scores.tolist()}); its weights or inputs are broken '
                    'and no result is returned')
        results = super().postprocess(preds, visualization,
                                      return_datasamples)
        if return_datasamples:
            return results
        for result in results:
            scores = result['pred_scores']
            k = min(self.topk, len(scores))
            order = np.argsort(-scores, kind='stable')[:k]
            result['topk'] = [
                (self.classes[i] if self.classes is not None else int(i),
                 float(scores[i])) for i in order
            ]
        return results
