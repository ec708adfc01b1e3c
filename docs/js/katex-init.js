// Render the math that pymdownx.arithmatex (generic mode) leaves in the page:
// inline math as \( ... \) and display math as \[ ... \], inside elements with
// the class "arithmatex". KaTeX and its auto-render extension are served from
// assets/katex/ (copied there by .ci/docs), so no network access is needed.
(function () {
  "use strict";

  var options = {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  };

  function renderMath() {
    if (typeof window.renderMathInElement !== "function") {
      return; // KaTeX failed to load: leave the TeX source readable
    }
    var nodes = document.querySelectorAll(".arithmatex");
    for (var i = 0; i < nodes.length; i++) {
      window.renderMathInElement(nodes[i], options);
    }
  }

  // Material's instant navigation swaps pages without a reload and announces
  // each new page on document$; without it, render once the DOM is ready.
  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(renderMath);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderMath);
  } else {
    renderMath();
  }
})();
