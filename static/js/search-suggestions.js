/* A search box (the header's, and the search page's own) as a WAI-ARIA combobox (list autocomplete): suggestions as the shopper types, from
   /search/suggest. Without this file the box is a plain search form, so nothing here may be needed to search. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var KIND_LABELS = { query: "Popular search", phrase: "Search", category: "Category" };

  function setUp(form) {
    var input = form.querySelector("input[name=q]");
    var listbox = form.querySelector("[role=listbox]");
    var status = form.querySelector("[data-suggest-status]");
    if (!input || !listbox) return;
    var answers = new Map();  // prefix → suggestions: retyping a prefix (backspace) asks nothing again
    var items = [];
    var active = -1;
    var timer = null;
    var asked = "";

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function activate(index) {
      var options = listbox.children;
      if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
      active = index;
      if (index < 0) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      options[index].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }

    function show(suggestions) {
      items = suggestions;
      listbox.replaceChildren();
      active = -1;
      input.removeAttribute("aria-activedescendant");
      suggestions.forEach(function (suggestion, index) {
        var option = document.createElement("li");
        option.id = listbox.id + "-" + index;
        option.className = "header-search__option header-search__option--" + suggestion.kind;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var text = document.createElement("span");
        text.className = "header-search__option-text";
        text.textContent = suggestion.text;
        var kind = document.createElement("span");
        kind.className = "header-search__option-kind";
        kind.textContent = KIND_LABELS[suggestion.kind] || "";
        option.append(text, kind);
        listbox.append(option);
      });
      if (suggestions.length) {
        listbox.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
      if (status) {
        status.textContent = suggestions.length
          ? suggestions.length + (suggestions.length === 1 ? " suggestion" : " suggestions") +
            ", up and down arrows to choose"
          : "";
      }
    }

    function ask(prefix) {
      asked = prefix;
      if (prefix.length < 2) {
        show([]);
        return;
      }
      if (answers.has(prefix)) {
        show(answers.get(prefix));
        return;
      }
      fetch(form.dataset.suggestUrl + "?" + new URLSearchParams({ q: prefix }), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return;
          answers.set(prefix, body.suggestions);
          // An answer to an older prefix arriving late must not replace the current one's.
          if (prefix === asked && document.activeElement === input) show(body.suggestions);
        })
        .catch(function () { /* no suggestions: the box still searches */ });
    }

    function pick(index) {
      var suggestion = items[index];
      if (!suggestion) return;
      if (suggestion.kind !== "category") input.value = suggestion.text;
      close();
      window.location.assign(suggestion.url);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      var prefix = input.value.trim().toLowerCase();
      timer = setTimeout(function () { ask(prefix); }, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !listbox.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!items.length) return;
        event.preventDefault();
        if (!open) {
          listbox.hidden = false;
          input.setAttribute("aria-expanded", "true");
          activate(event.key === "ArrowDown" ? 0 : items.length - 1);
          return;
        }
        var step = event.key === "ArrowDown" ? 1 : -1;
        // Past either end the focus returns to the typed text (no option active), as in the ARIA pattern.
        var next = active + step;
        activate(next < -1 ? items.length - 1 : next >= items.length ? -1 : next);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        pick(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });

    input.addEventListener("blur", close);
    // Keep the focus in the box while an option is clicked, so blur does not close the list under the pointer.
    listbox.addEventListener("mousedown", function (event) { event.preventDefault(); });
    listbox.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) pick(Array.prototype.indexOf.call(listbox.children, option));
    });
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    document.querySelectorAll("form[data-suggest-url]").forEach(setUp);
  });
})();
