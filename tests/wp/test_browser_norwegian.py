"""A Norwegian admin in headless Chromium refunds on the order screen through a refusal and an outage, and sees
only Norwegian from Refunder: no English sentence of the plugin's catalogue appears in the Refunder box at any
step. Screenshots go to tests/artifacts/browser-nb-<screen>-….png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.wp.conftest import ROOT, SECRET, WordPress
from tests.wp.test_browser import browser, log_in, shot

__all__ = ["browser"]

POT = ROOT / "wp-plugin" / "refunder" / "languages" / "refunder.pot"
BRANDS = {"Refunder", "Vipps MobilePay", "Stripe", "Mollie", "Klarna"}  # names, the same in both languages


def english_fragments(pot: Path = POT) -> set[str]:
    """The plugin's English sentences, cut at their placeholders into the fixed words they always show."""
    ids = re.findall(r'^msgid "(.*)"\n((?:".*"\n)*)', pot.read_text(encoding="utf-8"), re.M)
    out: set[str] = set()
    for first, rest in ids:
        text = (first + "".join(re.findall(r'"(.*)"', rest))).replace('\\"', '"').replace("\\n", " ")
        for part in re.split(r"%(?:\d\$)?[sd]", text):
            part = part.strip(" .,:;()\"'")
            if len(part) >= 12 and part not in BRANDS:
                out.add(part)
    return out


def english_in(text: str, fragments: set[str]) -> list[str]:
    return sorted(f for f in fragments if f in text)


def test_norwegian_admin_refunds_through_a_refusal_and_an_outage(wordpress: WordPress, browser: webdriver.Chrome,
                                                                order_screen: str) -> None:
    fragments = english_fragments()
    assert len(fragments) > 100
    wordpress.show_orders_in(order_screen)
    screen = f"nb-{order_screen}" if wordpress.storage == order_screen else f"nb-{wordpress.storage}-{order_screen}"
    order_id = int(wordpress.eval(
        "echo refunder_test_create_order(array('total' => '1500.00', 'email' => 'nb@example.com',"
        f" 'meta' => array('_test_simulated_reference' => 'wp-browser-nb-{order_screen}'),"
        " 'items' => array(array('Klipp', 1, '1000.00'), array('Hårvask', 2, '500.00'))));"))
    wordpress.eval("update_user_meta(1, 'locale', 'nb_NO');")
    wait = WebDriverWait(browser, 30)
    try:
        browser.get(f"{wordpress.url}/wp-admin/")
        log_in(browser, wait)
        wait.until(ec.presence_of_element_located((By.ID, "wpadminbar")))
        browser.get(wordpress.order_screens(order_id)[order_screen])
        panel = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".refunder-panel")))
        wait.until(lambda _: "1 500,00" in panel.find_element(By.CSS_SELECTOR, ".refunder-body").text)

        def seen(step: str) -> str:
            shot(browser, screen, step)
            text = panel.text.replace("\u00a0", " ")
            assert english_in(text, fragments) == [], f"{step}: English in the Refunder box: {text}"
            return text

        assert "kan refunderes" in seen("1-order")

        # a refusal: more than can be refunded (the service's quote, in Norwegian)
        panel.find_element(By.CSS_SELECTOR, ".refunder-open").click()
        panel.find_element(By.CSS_SELECTOR, "input[name=refunder_mode][value=amount]").click()
        panel.find_element(By.CSS_SELECTOR, "input[name=refunder_amount]").send_keys("1600")
        panel.find_element(By.CSS_SELECTOR, "textarea[name=refunder_reason]").send_keys("Kunden avbestilte")
        panel.find_element(By.CSS_SELECTOR, ".refunder-review").click()
        message = panel.find_element(By.CSS_SELECTOR, ".refunder-message")
        wait.until(lambda _: "høyst" in message.text)
        seen("2-refused")

        # an outage: the service is down; the page still shows the amounts, and says so
        wordpress.eval("update_option('refunder_settings', array('url' => 'http://127.0.0.1:9', "
                       f"'secret' => '{SECRET}'));")
        browser.refresh()
        panel = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".refunder-panel")))
        notice = panel.find_element(By.CSS_SELECTOR, ".refunder-notice")
        wait.until(lambda _: "svarer ikke" in notice.text)
        assert "127.0.0.1" not in panel.text and "1 500,00" in panel.text.replace("\u00a0", " ")
        seen("3-outage")
        wordpress.eval(f"update_option('refunder_settings', array('url' => '{wordpress.sidecar_url}', "
                       f"'secret' => '{SECRET}'));")

        # the refund itself
        browser.refresh()
        panel = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".refunder-panel")))
        wait.until(lambda _: "svarer ikke" not in panel.find_element(By.CSS_SELECTOR, ".refunder-notice").text
                   and panel.find_element(By.CSS_SELECTOR, ".refunder-notice").text)
        panel.find_element(By.CSS_SELECTOR, ".refunder-open").click()
        panel.find_element(By.CSS_SELECTOR, "input[name=refunder_mode][value=amount]").click()
        panel.find_element(By.CSS_SELECTOR, "input[name=refunder_amount]").send_keys("250")
        panel.find_element(By.CSS_SELECTOR, "textarea[name=refunder_reason]").send_keys("Kunden avbestilte hårvask")
        panel.find_element(By.CSS_SELECTOR, ".refunder-review").click()
        review = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".refunder-review-box")))
        assert "250,00" in review.text.replace("\u00a0", " ")
        seen("4-review")
        review.find_element(By.CSS_SELECTOR, ".refunder-confirm").click()
        row = WebDriverWait(browser, 45).until(ec.presence_of_element_located(
            (By.CSS_SELECTOR, ".refunder-refund[data-final='1'] .refunder-status-refunded")))
        assert row.text == "Refundert"
        panel = browser.find_element(By.CSS_SELECTOR, ".refunder-panel")
        seen("5-refunded")
    finally:
        wordpress.eval("delete_user_meta(1, 'locale');")
    assert wordpress.php_problems() == []


@pytest.mark.parametrize("fragment", ["The Refunder service is not answering"])
def test_fragments_cover_the_plugins_sentences(fragment: str) -> None:
    assert any(fragment in f for f in english_fragments())
