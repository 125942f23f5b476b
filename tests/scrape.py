"""A server's GET /metrics read the way Prometheus scrapes it, sample by sample."""

from prometheus_client.parser import text_string_to_metric_families

from tests.graphql import GraphQLClient

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for one not there yet (a labelled counter never counted)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(api: GraphQLClient) -> Samples:
    response = await api.http.get("/metrics", headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)
