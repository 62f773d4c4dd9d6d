"""Model resolution, the catalogue and cost estimates with each provider's cached-token rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop_tui.config import DEFAULT_ALLOWLIST, ProviderSettings, Settings
from loop_tui.errors import UserError
from loop_tui.llm import Usage, estimate_cost, load_catalog, make_provider, resolve_model
from loop_tui.llm.anthropic import AnthropicProvider
from loop_tui.llm.openai_compat import OpenAICompatProvider

MODELS_JSON = Path(__file__).resolve().parents[1] / "loop_tui" / "data" / "models.json"


def test_catalogue_covers_the_default_allowlist_with_prices() -> None:
    catalog = load_catalog()
    for name in [*DEFAULT_ALLOWLIST, "gpt-4o", "gpt-4o-mini", "gpt-4.1-mini", "claude-3-5-haiku", "claude-3-7-sonnet"]:
        info = catalog[name]
        assert info.provider in ("openai", "anthropic")
        assert info.input_per_mtok > 0 and info.output_per_mtok > info.input_per_mtok
        assert info.cached_input_per_mtok < info.input_per_mtok
        assert info.context_window >= 128_000
        if info.provider == "anthropic":
            assert info.cache_write_per_mtok > info.input_per_mtok


def test_models_json_is_plain_data_in_the_contract_shape() -> None:
    raw = json.loads(MODELS_JSON.read_text())
    gpt4o = raw["models"]["gpt-4o"]
    assert {"provider": "openai", "model_id": "gpt-4o", "input_per_mtok": 2.5, "output_per_mtok": 10.0,
            "cached_input_per_mtok": 1.25, "context_window": 128000}.items() <= gpt4o.items()


def test_catalogue_names_resolve_to_their_provider() -> None:
    settings = Settings()
    sonnet = resolve_model("claude-4-sonnet", settings, env={})
    assert (sonnet.provider, sonnet.model_id, sonnet.api_key_env) == (
        "anthropic", "claude-sonnet-4-20250514", "ANTHROPIC_API_KEY")
    assert sonnet.base_url == "https://api.anthropic.com"
    gpt = resolve_model("gpt-4.1", settings, env={})
    assert (gpt.provider, gpt.model_id, gpt.base_url) == ("openai", "gpt-4.1", "https://api.openai.com/v1")
    # A provider's own model id finds the same entry.
    assert resolve_model("claude-sonnet-4-20250514", settings, env={}).info.name == "claude-4-sonnet"


def test_provider_slash_model_ids_always_resolve() -> None:
    settings = Settings()
    ollama = resolve_model("ollama/llama3.1:8b", settings, env={})
    assert (ollama.provider, ollama.model_id, ollama.base_url, ollama.api_key_env) == (
        "openai", "llama3.1:8b", "http://localhost:11434/v1", None)
    proxy = resolve_model("braintrust/claude-4-sonnet", settings, env={})
    assert (proxy.provider, proxy.model_id, proxy.api_key_env) == (
        "openai", "claude-sonnet-4-20250514", "BRAINTRUST_API_KEY")
    assert proxy.base_url == "https://api.braintrust.dev/v1/proxy"
    vllm = resolve_model("vllm/meta-llama/Llama-3.1-8B-Instruct", settings, env={})
    assert vllm.model_id == "meta-llama/Llama-3.1-8B-Instruct" and vllm.base_url == "http://localhost:8000/v1"
    assert resolve_model("openai/gpt-4o-mini", settings, env={}).model_id == "gpt-4o-mini"
    assert resolve_model("anthropic/claude-opus-4-1-20250805", settings, env={}).provider == "anthropic"
    assert resolve_model("offline", settings).provider == "offline"


def test_env_base_urls_and_settings_overrides() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8"}
    settings = Settings()
    assert resolve_model("gpt-4o", settings, env=env).base_url == "http://127.0.0.1:9/v1"
    assert resolve_model("claude-3-5-haiku", settings, env=env).base_url == "http://127.0.0.1:8"
    settings.providers["openai"] = ProviderSettings(base_url="http://127.0.0.1:7/v1", api_key_env="MY_KEY")
    resolved = resolve_model("gpt-4o", settings, env=env)
    assert (resolved.base_url, resolved.api_key_env) == ("http://127.0.0.1:7/v1", "MY_KEY")
    settings.providers["ollama"] = ProviderSettings(base_url="http://127.0.0.1:11434/v1")
    assert resolve_model("ollama/qwen", settings).base_url == "http://127.0.0.1:11434/v1"


def test_custom_providers_from_settings() -> None:
    settings = Settings()
    settings.providers["together"] = ProviderSettings(base_url="http://127.0.0.1:5/v1", api_key_env="TOGETHER_KEY")
    settings.providers["corp-claude"] = ProviderSettings(base_url="http://127.0.0.1:6", kind="anthropic",
                                                         api_key_env="CORP_KEY", timeout_s=5, max_retries=1)
    together = resolve_model("together/meta-llama/Llama-3-70b", settings, env={})
    assert (together.provider, together.endpoint, together.model_id) == ("openai", "together", "meta-llama/Llama-3-70b")
    corp = resolve_model("corp-claude/claude-4-sonnet", settings, env={})
    assert corp.provider == "anthropic" and corp.model_id == "claude-sonnet-4-20250514"
    provider = make_provider(corp, settings)
    assert isinstance(provider, AnthropicProvider)
    assert (provider.name, provider.timeout_s, provider.max_retries, provider.api_key_env) == (
        "corp-claude", 5, 1, "CORP_KEY")
    assert isinstance(make_provider(together, settings), OpenAICompatProvider)


def test_unknown_names_are_user_errors_with_close_matches() -> None:
    with pytest.raises(UserError, match="unknown model 'gpt-4.2'.*gpt-4.1"):
        resolve_model("gpt-4.2", Settings())
    with pytest.raises(UserError, match="claude-4-sonnet"):
        resolve_model("claude-4-sonet", Settings())
    with pytest.raises(UserError, match="unknown model provider 'acme'"):
        resolve_model("acme/model-1", Settings())
    with pytest.raises(UserError, match="no model id"):
        resolve_model("openai/", Settings())


def test_default_model_choice() -> None:
    settings = Settings()
    assert resolve_model(None, settings, env={}).provider == "offline"
    assert resolve_model(None, settings, env={"ANTHROPIC_API_KEY": "x"}).name == "claude-4-sonnet"
    assert resolve_model(None, settings, env={"OPENAI_API_KEY": "x"}).name == "gpt-5"
    assert resolve_model(None, settings, env={"OPENAI_API_KEY": ""}).provider == "offline"
    settings.models.allowlist = ["no-such-model", "ollama/llama3", "gpt-4o"]
    assert resolve_model(None, settings, env={}).name == "ollama/llama3"  # needs no key
    settings.models.default = "gpt-4o-mini"
    with pytest.raises(UserError, match="not in the model allowlist"):  # the allowlist is a rule (issue 13)
        resolve_model(None, settings, env={})
    settings.models.allowlist = [*settings.models.allowlist, "gpt-4o-mini"]
    assert resolve_model(None, settings, env={}).name == "gpt-4o-mini"


def test_make_provider_rejects_offline() -> None:
    with pytest.raises(ValueError, match="offline"):
        make_provider(resolve_model("offline", Settings()), Settings())


def test_openai_cost_counts_cached_tokens_inside_prompt_tokens() -> None:
    # gpt-4o: 2.5 in, 10 out, 1.25 cached. 1000 prompt of which 600 cached, 50 out.
    usage = Usage(prompt_tokens=1000, completion_tokens=50, prompt_cached_tokens=600)
    assert estimate_cost("gpt-4o", usage) == pytest.approx((400 * 2.5 + 600 * 1.25 + 50 * 10) / 1e6)
    assert estimate_cost("openai/gpt-4o", usage) == estimate_cost("gpt-4o", usage)


def test_anthropic_cost_bills_cache_reads_and_writes_separately() -> None:
    # claude-4-sonnet: 3 in, 15 out, 0.3 cache read, 3.75 cache write. Wire: input 300, read 600, write 100.
    usage = Usage(prompt_tokens=1000, completion_tokens=50, prompt_cached_tokens=600, prompt_cache_creation_tokens=100)
    expected = (300 * 3 + 600 * 0.3 + 100 * 3.75 + 50 * 15) / 1e6
    assert estimate_cost("claude-4-sonnet", usage) == pytest.approx(expected)
    assert estimate_cost("claude-sonnet-4-20250514", usage) == pytest.approx(expected)


def test_cost_overrides_and_unknown_models() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    assert estimate_cost("ollama/llama3", usage) is None
    settings = Settings()
    settings.models.prices = {"ollama/llama3": {"input": 0.0, "output": 0.0},
                              "gpt-4o": {"input": 1.0}}
    assert estimate_cost("ollama/llama3", usage, settings) == 0.0
    assert estimate_cost("gpt-4o", usage, settings) == pytest.approx(1.0 + 10.0)  # output kept from catalogue
