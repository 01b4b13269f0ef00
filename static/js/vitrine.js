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

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    setUpNavToggle();
    setUpAutoSubmit();
    setUpGallery();
    setUpVariantPrice();
  });
})();
