# Table 3 (prototype images per class: 16, 64, 256, Full), ViT-B/16,
# RAF-DB, 3 seeds (the paper's sizes are unknown; see README "Configs").
#   python tools/sweep.py configs/sweeps/paper_table3.py --launcher dist --gpus 8
_base_ = ['./_paper_common.py']
title = 'Table 3: prototype images per class (ViT-B/16)'
work_dir = 'work_dirs/sweeps/paper_table3'
reference = 'Full'
_A = 'configs/ablations/'
rows = [dict(name=str(n), config=_A + f'table3_protos{n}_rafdb.py',
             datasets=['rafdb']) for n in (16, 64, 256)]
rows.append(dict(name='Full', config='configs/mpa_fer_rafdb.py',
                 datasets=['rafdb']))
