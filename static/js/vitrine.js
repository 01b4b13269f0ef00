/* Vitrine: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Mobile menu: the toggle only exists for JS users (CSS collapses the menu under .js).
  function setUpNavToggle() {
    var toggle = document.querySelector("[data-nav-toggle]");
    var nav = document.querySelector("[data-site-nav]");
    if (!toggle || !nav) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("is-open", !open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("is-open")) {
        toggle.setAttribute("aria-expanded", "false");
        nav.classList.remove("is-open");
        toggle.focus();
      }
    });
  }

  // Sort selects submit as soon as a new order is picked (the Apply button is hidden by CSS).
  function setUpAutoSubmit() {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form.requestSubmit) select.form.requestSubmit();
        else select.form.submit();
      });
    });
  }

  // Product gallery: thumbnails swap the main picture instead of opening the full-size file.
  function setUpGallery() {
    document.querySelectorAll("[data-gallery]").forEach(function (gallery) {
      var main = gallery.querySelector("[data-gallery-main]");
      if (!main) return;
      gallery.querySelectorAll("[data-gallery-thumb]").forEach(function (thumb) {
        thumb.addEventListener("click", function (event) {
          event.preventDefault();
          main.src = thumb.getAttribute("href");
          main.alt = thumb.dataset.alt || main.alt;
          gallery.querySelectorAll("[data-gallery-thumb]").forEach(function (other) {
            other.classList.toggle("is-active", other === thumb);
          });
        });
      });
    });
  }

  // Variant select: show the chosen option's own price, if it has one.
  function setUpVariantPrice() {
    var select = document.querySelector("[data-variant-select]");
    var current = document.querySelector("[data-price-current]");
    if (!select || !current) return;
    var original = current.textContent;
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      current.textContent = (option && option.dataset.price) || original;
    });
  }

  // AI blocks: report which recommended products were seen and clicked (the events beacon).
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function sendEvents(events) {
    if (!events.length) return;
    var body = JSON.stringify({ events: events });
    fetch("/api/v1/events", {
      method: "POST", credentials: "same-origin", keepalive: true, body: body,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }
    }).catch(function () { /* analytics must never disturb shopping */ });
  }

  function trackBlock(block) {
    var surface = block.dataset.aiSurface;
    if (!surface || block.dataset.tracked) return;
    block.dataset.tracked = "1";
    var items = Array.prototype.slice.call(block.querySelectorAll("[data-product-id]"));
    var reported = false;
    function impressions() {
      if (reported) return;
      reported = true;
      sendEvents(items.map(function (item) {
        return { event_type: "recommendation_impression", product: Number(item.dataset.productId), surface: surface };
      }));
    }
    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(function (entries) {
        if (entries.some(function (entry) { return entry.isIntersecting; })) {
          impressions();
          observer.disconnect();
        }
      });
      observer.observe(block);
    } else {
      impressions();
    }
    items.forEach(function (item) {
      item.addEventListener("click", function () {
        sendEvents([{ event_type: "recommendation_click", product: Number(item.dataset.productId), surface: surface }]);
      });
    });
  }

  // Personalised blocks: the page carries a shared fallback; the shopper's own version replaces it
  // once loaded. A failed request leaves the fallback in place.
  function loadFragments() {
    document.querySelectorAll("[data-fragment-url]").forEach(function (placeholder) {
      fetch(placeholder.dataset.fragmentUrl, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          if (fresh) {
            fresh.classList.add("is-personalised");
            placeholder.replaceWith(fresh);
            trackBlock(fresh);
          } else {
            placeholder.remove();
          }
        })
        .catch(function () { /* keep the fallback */ });
    });
  }

  function setUpAIBlocks() {
    document.querySelectorAll("[data-ai-surface]:not([data-fragment-url])").forEach(trackBlock);
    loadFragments();
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    setUpNavToggle();
    setUpAutoSubmit();
    setUpGallery();
    setUpVariantPrice();
    setUpAIBlocks();
  });
})();
