// Click (or Enter/Space on) a column header marked .ta-sort to sort its table; click again to reverse.
// Numbers sort as numbers ("12,500", "41.2% (36.0-46.5%)", "$150" -> 12500, 41.2, 150);
// empty, "-", "n/a" and "suppressed" cells stay at the bottom either way.
(function () {
  "use strict";
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var blank = /^(|-|\u2014|\u2013|n\/a|na|nan|none|null|suppressed)$/i;

  function keyOf(row, col) {
    var cell = row.cells[col];
    var text = cell ? cell.textContent.trim() : "";
    var bare = text.replace(/^(US\$|USD|EUR|GBP|CNY|RMB)\s*/i, "")
      .replace(/[\s,$\u20ac\u00a3\u00a5%\u00a0\u202f]/g, "")
      .replace(/^\u2212/, "-");
    var match = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(bare);
    return { blank: blank.test(text), num: match ? parseFloat(match[0]) : NaN, text: text };
  }

  function compare(a, b) {
    var aNum = !isNaN(a.num), bNum = !isNaN(b.num);
    if (aNum && bNum) return a.num - b.num;
    if (aNum !== bNum) return aNum ? -1 : 1;
    return collator.compare(a.text, b.text);
  }

  function sortColumn(th) {
    var table = th.closest("table");
    var body = table && table.tBodies[0];
    if (!body) return;
    var col = th.cellIndex;
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var keyed = Array.prototype.map.call(body.rows, function (row, i) {
      return { row: row, key: keyOf(row, col), i: i };
    });
    keyed.sort(function (a, b) {
      if (a.key.blank !== b.key.blank) return a.key.blank ? 1 : -1;
      var c = compare(a.key, b.key);
      if (!ascending) c = -c;
      return c || a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (other) {
      if (other.classList.contains("ta-sort")) other.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  Array.prototype.forEach.call(document.querySelectorAll("th.ta-sort"), function (th) {
    th.addEventListener("click", function () { sortColumn(th); });
    th.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortColumn(th);
      }
    });
  });
})();
