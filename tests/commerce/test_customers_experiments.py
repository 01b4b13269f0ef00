"""The shop's questions to the experiments app go through one setting, are asked once per request, and
never break a price or a checkout when the answer fails."""

import logging

import pytest
from django.test import RequestFactory

from commerce.catalogue.models import PriceList
from commerce.customers import experiments as shop

asked = []


# This module is also the provider under test: the ``provider`` fixture names it in the setting.
def price_list(request):
    asked.append(request)
    return PriceList.BASE


def experiment_tags(request):
    return {"checkout-copy": "b"}


def surface_tags(request, surface):
    return {"carousel": surface}


@pytest.fixture
def provider(settings):
    asked.clear()
    settings.VITRINE_SHOPPER_EXPERIMENTS = __name__


def test_the_named_provider_answers_and_is_asked_once_per_request(provider):
    request = RequestFactory().get("/")

    answers = [shop.price_list_for(request) for _ in range(3)]

    assert answers == [PriceList.BASE] * 3 and asked == [request]
    assert shop.experiment_tags(request) == {"checkout-copy": "b"}
    assert shop.surface_tags(request, "block:b1") == {"carousel": "block:b1"}


def test_without_a_provider_everyone_pays_the_current_price_and_orders_carry_no_tags(settings):
    settings.VITRINE_SHOPPER_EXPERIMENTS = ""
    request = RequestFactory().get("/")

    assert shop.price_list_for(request) == PriceList.CURRENT
    assert shop.experiment_tags(request) == {}
    assert shop.surface_tags(request, "block:b1") == {}


def test_a_failing_provider_is_logged_and_the_current_price_applies(settings, caplog):
    settings.VITRINE_SHOPPER_EXPERIMENTS = "no_such_experiments_module"

    with caplog.at_level(logging.ERROR, logger="commerce.customers.experiments"):
        answer = shop.price_list_for(RequestFactory().get("/"))

    assert answer == PriceList.CURRENT
    assert "no_such_experiments_module.price_list failed" in caplog.text


def test_no_request_means_the_current_price():
    assert shop.price_list_for(None) == PriceList.CURRENT


def test_a_failing_provider_leaves_beacon_events_untagged(settings, caplog):
    settings.VITRINE_SHOPPER_EXPERIMENTS = "no_such_experiments_module"

    with caplog.at_level(logging.ERROR, logger="commerce.customers.experiments"):
        answer = shop.surface_tags(RequestFactory().get("/"), "block:b1")

    assert answer == {}
    assert "no_such_experiments_module.surface_tags failed" in caplog.text
