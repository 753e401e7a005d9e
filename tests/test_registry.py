import pytest

from bench.registry import Registry, UnknownNameError


def test_register_get_and_list_sorted():
    registry: Registry[int] = Registry("thing")
    registry.add("b", 2)
    registry.register("a")(1)
    assert registry.get("a") == 1 and list(registry) == ["a", "b"] and "b" in registry


def test_registering_a_name_twice_is_an_error():
    registry: Registry[int] = Registry("thing")
    registry.add("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.add("a", 2)


def test_unknown_name_suggests_close_names():
    registry: Registry[int] = Registry("method")
    for name in ("wanda", "magnitude", "dense"):
        registry.add(name, 0)
    with pytest.raises(UnknownNameError) as err:
        registry.get("wandda")
    assert str(err.value).startswith("unknown method 'wandda' (did you mean 'wanda'?)")
    with pytest.raises(UnknownNameError, match="known: dense, magnitude, wanda"):
        registry.get("zzz")
