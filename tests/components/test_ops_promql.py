"""The PromQL metric-name extractor the dashboard and alert tests rely on."""

from __future__ import annotations

import pytest

from components.ops.promql import metric_names, problems, tokens


@pytest.mark.parametrize(("expr", "expected"), [
    ("up", {"up"}),
    ('up{job="x"} == 0', {"up"}),
    ("histogram_quantile(0.95, sum by (le, model) (rate(x_bucket[5m])))", {"x_bucket"}),
    ("histogram_quantile(0.95, sum(rate(x_bucket[5m])) by (le, model))", {"x_bucket"}),
    ('label_replace(kube_hpa_spec_max_replicas, "a", "$1", "b", "(.*)")', {"kube_hpa_spec_max_replicas"}),
    ("a / on(pod) group_left(node) b", {"a", "b"}),
    ("a * ignoring(instance) group_right b", {"a", "b"}),
    ("sum without (instance, pod) (rate(errors_total[1m]))", {"errors_total"}),
    ('sum(vllm:num_requests_waiting{namespace="models",service="llama"}) or vector(0)',
     {"vllm:num_requests_waiting"}),
    ("llamacpp:requests_deferred > bool 3", {"llamacpp:requests_deferred"}),
    ("a and b unless c or d", {"a", "b", "c", "d"}),
    ("A AND B", {"A", "B"}),
    ("rate(x_total[5m] offset 1h)", {"x_total"}),
    ("max_over_time(rate(x_total[5m])[1h:1m])", {"x_total"}),
    ("x_total @ start()", {"x_total"}),
    ("x @ 1609746000", {"x"}),
    ("1e3 * 0.5 + 0x1F - .5 + Inf + NaN", set()),
    ("topk(5, sum by (pod) (y))", {"y"}),
    ('count_values("version", build_info)', {"build_info"}),
    ('quantile(0.9, z) > 2', {"z"}),
    ("a atan2 b", {"a", "b"}),
    ('{__name__="renamed_metric", job="j"}', {"renamed_metric"}),
    ('{__name__=~"re.*"}', set()),
    ('absent(up{job="dcgm"}) # a comment naming not_a_metric\n', {"up"}),
    ('sum(rate(r_total{model=~"$model", code!~"2.."}[$__rate_interval])) by (model)', {"r_total"}),
    ('sum(g{node=~"${node:regex}"}) / $scale', {"g"}),
    ('x{a="}{[(by"}', {"x"}),
    ("x{a='q\\'uoted'} + `raw\\` + w", {"x", "w"}),
    ("time() - process_start_time_seconds", {"process_start_time_seconds"}),
    ("sum by(le)(h_bucket)", {"h_bucket"}),
    ("count(count by (gpu) (DCGM_FI_DEV_GPU_UTIL))", {"DCGM_FI_DEV_GPU_UTIL"}),
])
def test_metric_names(expr, expected):
    assert metric_names(expr) == expected


def test_label_names_inside_selectors_are_not_metrics():
    names = metric_names('sum(rate(envoy_cluster_upstream_rq{envoy_response_code_class="5"}[5m]))')
    assert names == {"envoy_cluster_upstream_rq"}
    assert "envoy_response_code_class" not in names


def test_durations_and_numbers_are_one_token():
    kinds = [(t.kind, t.text) for t in tokens("x[1h30m] offset 250ms > 1.5e-3")]
    assert ("number", "1h30m") in kinds and ("number", "250ms") in kinds and ("number", "1.5e-3") in kinds


def test_problems():
    assert problems("sum(rate(x[5m]))") == []
    assert problems("") == ["empty expression"]
    assert problems("sum(rate(x[5m])") == ["unclosed '('"]
    assert problems("sum(x])") == ["unbalanced ']'"]
    assert "unterminated" in problems('x{a="b}')[0]


def test_unterminated_string_raises():
    with pytest.raises(ValueError, match="unterminated"):
        metric_names('up{job="x}')
