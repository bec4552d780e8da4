# MPA-FER on CLIP ViT-B/16 (docs/method.md): the whole CLIP is frozen;
# 10 shared text context vectors and 8 deep visual prompts in all 12 layers
# train. Scores are CGLA (global + per-class top-16 local, Eqs. 8-10) at a
# logit scale of 100; L = L_vt + L_t + L_v (Eq. 12).
#
# CLIP weights: OpenAI's ViT-B-16.pt (TorchScript archive) or an open_clip
# state dict, at data/clip/ViT-B-16.pt, or wherever the CLIP_B16 environment
# variable points, or override it: --cfg-options model.clip.pretrained=/path
# The paper uses OpenAI's CLIP, trained with QuickGELU: quick_gelu=True.
# For LAION/DataComp (GELU) weights set model.clip.quick_gelu=False; a plain
# state dict does not record its activation, so it is stated here (a JIT
# archive whose activation contradicts it is refused).
# `clip` is set once here and copied into backbone and head.
# The class prototypes of loss_proto (Eq. 6) are set before training by the
# PrototypeHook below (cached in {work_dir}/prototypes/ unless `cache_dir`
# is set, e.g. 'data/prototypes' to share them between runs; build them
# offline with tools/misc/build_prototypes.py), or given as
# head.prototypes='protos.pt'.
model = dict(
    type='MPAFERClassifier',
    clip=dict(model_name='ViT-B-16', pretrained='{{$CLIP_B16:data/clip/ViT-B-16.pt}}',
              quick_gelu=True),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        # CLIP's normalisation in 0-255 scale (docs/method.md).
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=True),
    backbone=dict(
        type='MPAPromptedViT',
        num_prompts=8,  # N_p per layer
        prompt_depth=None,  # None: every layer
        prompt_init_std=0.02,
        patch_proj='ln_post_proj',  # patches: ln_post then proj
        prompt_ln_pre=True,  # first-layer prompts through ln_pre (IVLP)
        # Activation checkpointing of the frozen blocks (True: all, int: the
        # first n): same gradients, less memory, more time (README
        # "Performance").
        with_cp=False),
    head=dict(
        type='MPAPromptHead',
        # Must equal the dataset's metainfo['classes']: FER7_CLASSES of
        # mpa_fer_plugin.datasets.categories (override for FER8 datasets).
        classnames=('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness',
                    'Surprise', 'Neutral'),
        num_ctx=10,
        ctx_init=None,  # None: N(0, ctx_init_std^2)
        class_specific_ctx=False,
        ctx_init_std=0.02,
        prompt_template='{}.',
        descriptions=None,  # None: the shipped fer8_descriptions.json
        granularity=3,  # hard prompt = template 2 + LLM description
        description_aggregation='mean',  # mean of encoded descriptions
        truncate_hard_prompts=False,
        hard_prompt_end_period=False,  # "...of {cls}, {desc}", no final "."
        shuffle_descriptions=False,  # control: another class's descriptions
        topk_patches=16,  # 'all': mean over every patch (control)
        patch_selection='topk',  # 'random': k random patches (control)
        local_weight=1.0,
        logit_scale=100.0,
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
        loss_align=dict(
            type='SoftHardAlignLoss',
            tau=0.07,
            # EOT state: class-specific with a shared context ('mean' gives
            # every context vector the same L_ta gradient)
            token_pooling='eot',
            prompt_level='l1',
            l1_reduction='sum',  # Eq. 3: L1 norm over D, mean over classes
            token_weight=1.0,
            prompt_weight=1.0,
            loss_weight=1.0),  # beta
        loss_proto=dict(
            type='PrototypeAlignLoss',
            metric='cosine',
            normalize=True,
            reduction='mean',
            loss_weight=1.0),  # gamma
        prototypes=None),
)

custom_hooks = [
    # Head class names must equal the dataset's classes, name by name.
    dict(type='MPAClassNameCheckHook'),
    # Class prototypes from the frozen CLIP over the training set (test
    # pipeline). Skipped after --resume/load_from (they are in the
    # checkpoint) and for heads without loss_proto (the baselines).
    dict(
        type='PrototypeHook',
        samples_per_class=-1,  # -1: every training image ("Full")
        seed=0,  # of the per-class subset when samples_per_class > 0
        normalize=False,  # L2-normalise features before averaging
        shuffle_labels=False,  # control: prototypes from permuted labels
        cache_dir=None),  # None: {work_dir}/prototypes
]
