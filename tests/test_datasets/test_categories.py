import pytest

from mpa_fer_plugin.datasets import categories as cat


def test_convert_tables_match_method_doc():
    # docs/method.md: native index -> canonical index
    assert cat.native_to_canonical(cat.RAFDB_NATIVE) == (5, 2, 1, 4, 3, 0, 6)
    assert cat.native_to_canonical(cat.AFFECTNET_NATIVE) == (6, 4, 3, 5, 2, 1,
                                                             0, 7)
    assert cat.native_to_canonical(cat.FERPLUS_NATIVE) == (6, 4, 5, 3, 0, 1,
                                                           2, 7)
    assert cat.native_to_canonical(cat.RAFDB_NATIVE_EXT)[-1] == 7


def test_native_to_canonical_rejects_unknown_class():
    with pytest.raises(ValueError, match='Contempt'):
        cat.native_to_canonical(cat.AFFECTNET_NATIVE, cat.FER7_CLASSES)


def test_label_sets():
    assert cat.FER7_CLASSES == cat.FER_CLASSES[:7]
    assert cat.get_label_set('RAFDB') == cat.FER7_CLASSES
    assert cat.get_label_set('ferplus') == cat.FER8_CLASSES
    assert cat.get_label_set('a, b') == ('a', 'b')
    with pytest.raises(ValueError, match='unknown label set'):
        cat.get_label_set('nope')
    with pytest.raises(ValueError, match='duplicate'):
        cat.get_label_set(['a', 'A'])


@pytest.mark.parametrize('alias,name', [('happy', 'Happiness'),
                                        ('Angry', 'Anger'),
                                        (' SAD ', 'Sadness'),
                                        ('surprised', 'Surprise'),
                                        ('Neutral', 'Neutral'),
                                        ('fearful', 'Fear'),
                                        ('disgusted', 'Disgust'),
                                        ('contempt', 'Contempt')])
def test_resolve_class_name(alias, name):
    assert cat.resolve_class_name(alias) == name


def test_resolve_class_name_unknown():
    with pytest.raises(ValueError, match="'bored'"):
        cat.resolve_class_name('bored')


def test_every_canonical_class_has_an_alias():
    assert set(cat.CLASS_ALIASES.values()) == set(cat.FER_CLASSES)
