# Table 2 (hard-prompt granularity 1/2/3), ViT-B/16, RAF-DB, 3 seeds.
#   python tools/sweep.py configs/sweeps/paper_table2.py --launcher dist --gpus 8
_base_ = ['./_paper_common.py']
title = 'Table 2: hard-prompt granularity (ViT-B/16)'
work_dir = 'work_dirs/sweeps/paper_table2'
reference = 'granularity 3'
_A = 'configs/ablations/'
rows = [dict(name=f'granularity {g}',
             config=_A + f'table2_granularity{g}_rafdb.py',
             datasets=['rafdb']) for g in (1, 2, 3)]
