"""The Live page on a real duplex device (the virtual loopback in CI): a passthrough session starts and stops,
the meters follow a tone played into the loopback, no block is late, a transpose change is taken while running
(same session, no restart); a device that is gone, or one that stops mid-session, shows in the page."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui
SR = 44100


def _live(window, device: int | str | None = None):
    page = window.show_page("live")
    page.form.passthrough.setChecked(True)
    if device is not None:
        page.form.select_device(device)
    page.form.rate.setCurrentIndex(page.form.rate.findData(SR))
    page.form.block.setValue(100)
    page.form.context.setValue(200)
    return page


@pytest.mark.audio
def test_passthrough_session_meters_and_runtime_transpose(qtbot, window, duplex_device) -> None:
    import sounddevice as sd

    page = _live(window, duplex_device)
    assert "Algorithmic latency 160 ms" in page.form.latency_label.text()
    pos = [0]

    def tone(outdata, frames, time_info, status) -> None:  # a 330 Hz tone into the loopback, on PortAudio's thread
        t = (pos[0] + np.arange(frames)) / SR
        outdata[:, 0] = 0.05 * np.sin(2 * np.pi * 330.0 * t)
        pos[0] += frames

    player = sd.OutputStream(samplerate=SR, channels=1, device=duplex_device, dtype="float32", callback=tone)
    player.start()
    try:
        page.start()
        qtbot.waitUntil(lambda: page.running, timeout=30000)
        session = page.session
        qtbot.waitUntil(lambda: page.in_meter.updates > 20 or not page.running, timeout=10000)
        assert page.running, page.error
        assert page.in_meter.peak_db > -45.0 and page.out_meter.peak_db > -45.0, (page.in_meter.peak_db,
                                                                                   page.out_meter.peak_db)
        assert session.stream.counters.late == 0 and page.late_label.text().startswith("0 ")
        assert page.time_label.text().endswith("%)") and page.curve.getData()[1].size > 0
        page.form.transpose.setValue(2.0)
        qtbot.waitUntil(lambda: session.engine.settings.transpose == 2.0, timeout=5000)
        qtbot.wait(600)  # past the restart debounce: a runtime change must not restart the session
        assert page.session is session and page.running and page.error == ""
    finally:
        player.stop()
        player.close()
        page.stop()
    assert not page.running and page.start_button.text() == "Start"
    assert window.errors == []


def test_a_missing_device_shows_in_the_page(qtbot, window) -> None:
    page = _live(window)
    for combo in (page.form.input, page.form.output):  # a device listed earlier that is now unplugged
        combo.addItem("9999: unplugged", 9999)
        combo.setCurrentIndex(combo.count() - 1)
    page.start()
    qtbot.waitUntil(lambda: page.error.startswith("Cannot start"), timeout=30000)
    assert "9999" in page.error and page.error_label.isVisibleTo(page)
    assert not page.running and window.errors == []  # in the page, no dialog


@pytest.mark.audio
def test_a_device_that_stops_mid_session_shows_in_the_page(qtbot, window, duplex_device) -> None:
    page = _live(window, duplex_device)
    page.start()
    qtbot.waitUntil(lambda: page.running, timeout=30000)
    stream = page.session.stream
    r0 = stream.restarts  # the sound server may have hiccuped by itself already
    stream._finished()  # one hiccup: the page's poll has the stream reopen the device, the session goes on
    qtbot.waitUntil(lambda: stream.restarts > r0, timeout=10000)
    assert page.running and page.error == ""
    stream.max_restarts = stream.restarts  # this time the device stays gone
    stream._finished()  # what PortAudio calls when the device goes away under a running stream
    qtbot.waitUntil(lambda: not page.running, timeout=5000)
    assert page.error.startswith("The session stopped") and "device disconnected" in page.error
    assert window.errors == []


def test_calibrate_applies_its_choice_and_the_latency_follows(qtbot, window, tmp_path) -> None:
    page = _live(window)
    page.form.block.setValue(1000)
    assert "Algorithmic latency 1060 ms" in page.form.latency_label.text()  # block 1000 + crossfade 50 + search 10
    page.calibrate()
    qtbot.waitUntil(lambda: not page._cal_job, timeout=120000)
    assert page.error == "" and page.state_label.text().startswith("Calibrated: block")
    assert page.form.block.value() < 1000  # passthrough keeps up with the shortest candidate block
    from svc_core.live.settings import load_calibrated

    saved = load_calibrated()
    assert saved is not None and saved["block_ms"] == page.form.block.value()
    assert f"Algorithmic latency {page.form.block.value() + page.form.crossfade.value() + 10:.0f} ms" in \
        page.form.latency_label.text()
