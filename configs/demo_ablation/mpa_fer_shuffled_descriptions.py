# Control of L_t: the full MPA-FER, but each class's hard prompts carry the
# descriptions of another class (a seeded derangement, 11a's switch). If
# L_t helps through what the descriptions say, this scores below
# ../mpa_fer_demo.py.
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(shuffle_descriptions=True, shuffle_descriptions_seed=0))
