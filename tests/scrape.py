"""Counters read from a server's GET /metrics, the way Prometheus would scrape them."""

from prometheus_client.parser import text_string_to_metric_families

from tests.graphql import GraphQLClient


async def counted(api: GraphQLClient, family: str, label: str) -> dict[str, float]:
    """The `<family>_total` samples of a counter, by the value of `label`."""
    response = await api.http.get("/metrics", headers=api.headers)
    response.raise_for_status()
    by_label: dict[str, float] = {}
    for metric in text_string_to_metric_families(response.text):
        if metric.name == family:
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    by_label[sample.labels[label]] = sample.value
    return by_label
