"""rtmpose.settings: one precedence (flag > --set > params section > dataclass default), type checks per
field, then the dataclass's validate(where); every failure is one line naming the file, section and key."""
import json
import math
from dataclasses import dataclass, field

import pytest

from rtmpose.errors import Error
from rtmpose.settings import apply_sets, default_of, params_section, resolve


@dataclass
class Small:
    epochs: int = 10
    base_lr: float = 0.004
    name: str = 'default'
    use_gau: bool = True
    size: tuple = (192, 256)
    extra: dict = field(default_factory=dict)
    note: str | None = None


@dataclass
class Checked:
    num_train: int = 600
    calls: list = field(default_factory=list)

    def validate(self, where: str) -> None:
        self.calls.append(where)
        if self.num_train < 1:
            raise Error(f'{where}: num_train must be >= 1')


def _params(tmp_path, text: str):
    p = tmp_path / 'params.yaml'
    p.write_text(text)
    return p


# ------------------------------------------------------------------- precedence
def test_default_when_nothing_is_given():
    s = resolve(Small)
    assert s == Small() and s.epochs == 10 and s.name == 'default'


def test_params_section_beats_default(tmp_path):
    p = _params(tmp_path, 'run: {epochs: 20}\n')
    s = resolve(Small, params=p, section='run')
    assert s.epochs == 20 and s.base_lr == 0.004


def test_set_beats_params_section(tmp_path):
    p = _params(tmp_path, 'run: {epochs: 20, name: file}\n')
    s = resolve(Small, params=p, section='run', sets=['epochs=30'])
    assert s.epochs == 30 and s.name == 'file'


def test_flag_beats_set_beats_section_beats_default(tmp_path):
    p = _params(tmp_path, 'run: {epochs: 20, name: file, base_lr: 0.001}\n')
    s = resolve(Small, params=p, section='run', sets=['epochs=30', 'name=set'], flags={'epochs': 40})
    assert (s.epochs, s.name, s.base_lr, s.use_gau) == (40, 'set', 0.001, True)


def test_a_flag_left_none_does_not_override(tmp_path):
    p = _params(tmp_path, 'run: {epochs: 20}\n')
    s = resolve(Small, params=p, section='run', sets=['name=set'], flags={'epochs': None, 'name': None})
    assert s.epochs == 20 and s.name == 'set'
    assert resolve(Small, flags={'epochs': None}).epochs == 10


def test_values_take_the_place_of_a_params_file():
    s = resolve(Small, values={'epochs': 3}, sets=['base_lr=0.5'], flags={'name': 'flag'})
    assert (s.epochs, s.base_lr, s.name) == (3, 0.5, 'flag')


def test_dotted_set_reaches_into_mappings():
    assert apply_sets({'extra': {'a': 1}}, ['extra.b=false']) == {'extra': {'a': 1, 'b': False}}
    assert resolve(Small, sets=['extra.use_gau=false']).extra == {'use_gau': False}


def test_set_without_equals_is_an_error():
    with pytest.raises(Error, match="--set 'epochs': expected key=value"):
        resolve(Small, sets=['epochs'])


# ------------------------------------------------------------------- type checks
def _one_line(excinfo) -> str:
    text = str(excinfo.value)
    assert '\n' not in text
    return text


def test_set_of_a_word_for_an_int_names_the_key():
    with pytest.raises(Error) as e:
        resolve(Small, sets=['epochs=two'])
    msg = _one_line(e)
    assert 'epochs must be an integer' in msg and "'two'" in msg


@pytest.mark.parametrize('raw', ['abc', '.nan', '.inf', '-.inf'])
def test_non_finite_or_non_numeric_float_is_rejected(raw):
    with pytest.raises(Error) as e:
        resolve(Small, sets=[f'base_lr={raw}'])
    assert 'base_lr must be a finite number' in _one_line(e)


def test_wrong_type_in_params_file_names_file_section_and_key(tmp_path):
    p = _params(tmp_path, 'data:\n  synthetic: {num_train: ten}\n')
    with pytest.raises(Error) as e:
        resolve(Checked, params=p, section='data.synthetic')
    msg = _one_line(e)
    assert msg.startswith(f'{p}: data.synthetic: ') and 'num_train must be an integer' in msg and "'ten'" in msg


def test_int_is_accepted_for_float_and_list_becomes_tuple(tmp_path):
    p = _params(tmp_path, 'run: {base_lr: 1, size: [96, 128]}\n')
    s = resolve(Small, params=p, section='run')
    assert s.base_lr == 1.0 and isinstance(s.base_lr, float)
    assert s.size == (96, 128) and isinstance(s.size, tuple)


def test_bool_is_not_an_int_and_int_is_not_a_bool():
    with pytest.raises(Error, match='epochs must be an integer'):
        resolve(Small, sets=['epochs=true'])
    with pytest.raises(Error, match='use_gau must be true or false'):
        resolve(Small, sets=['use_gau=1'])


def test_optional_field_accepts_null_and_its_type():
    assert resolve(Small, sets=['note=null']).note is None
    assert resolve(Small, sets=['note=hi']).note == 'hi'
    with pytest.raises(Error, match='note must be a string or null'):
        resolve(Small, sets=['note=3'])


# ------------------------------------------------------------------- unknown keys, sections, validate
def test_unknown_key_lists_the_known_keys(tmp_path):
    p = _params(tmp_path, 'run: {epoch: 3}\n')
    with pytest.raises(Error) as e:
        resolve(Small, params=p, section='run')
    msg = _one_line(e)
    assert "unknown setting 'epoch'" in msg
    assert 'known: base_lr, epochs, extra, name, note, size, use_gau' in msg


def test_missing_section_names_the_file(tmp_path):
    p = _params(tmp_path, 'other: {}\n')
    with pytest.raises(Error) as e:
        resolve(Small, params=p, section='data.synthetic')
    assert _one_line(e) == f"{p}: missing section 'data.synthetic'"
    with pytest.raises(Error, match="missing section 'a.b'"):
        params_section({'a': {}}, 'a.b', p)


def test_validate_is_called_with_where_after_the_type_checks(tmp_path):
    s = resolve(Checked, values={'num_train': 5}, where='here')
    assert s.calls == ['here']
    p = _params(tmp_path, 'data: {num_train: 0}\n')
    with pytest.raises(Error, match=f'^{p}: data: num_train must be >= 1$'):
        resolve(Checked, params=p, section='data')


def test_default_of_reads_the_dataclass():
    assert default_of(Small, 'epochs') == 10 and default_of(Small, 'extra') == {}
    with pytest.raises(KeyError):
        default_of(Small, 'nope')


# ------------------------------------------------------------------- a real dataclass
def test_train_config_resolves_through_the_loader(tmp_path):
    from rtmpose.train.config import TrainConfig
    p = _params(tmp_path, 'train:\n  epochs: 30\n  stage2_epochs: 15\n  base_lr: 0.0005\n'
                          '  model_overrides: {input_size: [96, 128]}\n')
    cfg = resolve(TrainConfig, params=p, section='train', sets=['epochs=20'], flags={'base_lr': 0.001, 'seed': None})
    assert cfg.epochs == 20 and cfg.stage2_epochs == 15 and cfg.base_lr == 0.001
    assert cfg.model_overrides == {'input_size': [96, 128]}
    assert cfg.seed == TrainConfig().seed and cfg.batch_size == TrainConfig().batch_size
    with pytest.raises(Error, match=f'^{p}: train: epochs must be an integer'):
        resolve(TrainConfig, params=p, section='train', sets=['epochs=two'])
    with pytest.raises(Error, match='base_lr must be a finite number'):
        resolve(TrainConfig, params=p, section='train', sets=['base_lr=.nan'])
    # validate(): stage 2 longer than the schedule
    with pytest.raises(Error, match=f'^{p}: train: '):
        resolve(TrainConfig, params=p, section='train', flags={'epochs': 10})


# ------------------------------------------------------------------- the CLI
def test_prepare_synthetic_explicit_flag_beats_params_file(tmp_path):
    from rtmpose.cli import main
    p = _params(tmp_path, 'data:\n  synthetic: {seed: 0, num_train: 600, num_val: 2, width: 64, height: 64, '
                          'max_people: 1, occluder_prob: 0.0}\n')
    out = tmp_path / 'syn'
    assert main(['prepare', 'synthetic', '--params', str(p), '--set', 'num_train=7', '--num-train', '5',
                 '--out', str(out)]) == 0
    train = json.loads((out / 'train.json').read_text())
    val = json.loads((out / 'val.json').read_text())
    assert len(train['images']) == 5          # the flag, not --set's 7 nor the file's 600
    assert len(val['images']) == 2            # the file's value where no flag or --set is given
    assert math.isclose(train['images'][0]['width'], 64)
