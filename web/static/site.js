// The index's tables: sort (click a header button, or focus it and press Enter/Space), filter
// by name and page through any number of rows. No framework, no request: the rows come from
// data/index-rows.js (window.CD_ROWS, loaded with defer), which file:// pages may load. The
// HTML holds the first rows, so the page paints before that script arrives; without it (or
// without JavaScript) those rows still sort in place. Text goes in with textContent only.
(function () {
  "use strict";
  var PAGE = 100;
  // Columns of a CD_ROWS row: [area, href, kind, cameras, [km2 text, km2], [per km2 text,
  // value], [population text, value], [per 1k text, value], [tagging text, value], grade,
  // data date]. Table column i shows row field FIELD[i].
  var FIELD = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  function fold(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function sortValue(row, col, type) {
    var v = row[FIELD[col]];
    if (Array.isArray(v)) { v = v[1]; }
    if (type === "number") { return v === null || v === undefined ? null : Number(v); }
    return fold(v);
  }
  function compareBy(col, type, dir) {
    return function (a, b) {
      var x = sortValue(a, col, type), y = sortValue(b, col, type);
      if (x === null && y === null) { return a.pos - b.pos; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      if (c === 0) { return a.pos - b.pos; }
      return dir === "ascending" ? c : -c;
    };
  }
  function cell(tr, text, value) {
    var td = document.createElement("td");
    td.textContent = text;
    if (value !== undefined) { td.setAttribute("data-value", value === null ? "" : value); }
    tr.appendChild(td);
  }
  function drawRow(row) {
    var tr = document.createElement("tr");
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.setAttribute("href", row[1]);
    a.textContent = row[0];
    td.appendChild(a);
    tr.appendChild(td);
    cell(tr, row[2]);
    cell(tr, String(row[3]), row[3]);
    for (var i = 4; i <= 8; i++) { cell(tr, row[i][0], row[i][1]); }
    cell(tr, row[9]);
    cell(tr, row[10]);
    return tr;
  }

  // A table backed by its rows: state is the sort, the filter and the page.
  function DataTable(table, rows, tools) {
    this.table = table;
    this.all = rows.map(function (r, i) { r.pos = i; r.key = fold(r[0]); return r; });
    this.shown = this.all.slice();
    this.page = 0;
    this.tools = tools;
    var self = this;
    if (tools) {
      tools.hidden = false;
      var filter = tools.querySelector("input.filter");
      filter.addEventListener("input", function () { self.filter(filter.value); });
      tools.querySelector("button.prev").addEventListener("click", function () {
        self.go(self.page - 1);
      });
      tools.querySelector("button.next").addEventListener("click", function () {
        self.go(self.page + 1);
      });
    }
    var more = table.parentNode.nextElementSibling;
    if (more && more.classList.contains("more")) { more.hidden = true; }
    this.draw();
  }
  DataTable.prototype.sort = function (col, type, dir) {
    this.all.sort(compareBy(col, type, dir));
    this.applyFilter();
    this.go(0);
  };
  DataTable.prototype.filter = function (text) {
    this.needle = fold(text.trim());
    this.applyFilter();
    this.go(0);
  };
  DataTable.prototype.applyFilter = function () {
    var needle = this.needle;
    this.shown = needle ? this.all.filter(function (r) { return r.key.indexOf(needle) >= 0; })
      : this.all.slice();
  };
  DataTable.prototype.go = function (page) {
    var last = Math.max(0, Math.ceil(this.shown.length / PAGE) - 1);
    this.page = Math.min(Math.max(0, page), last);
    this.draw();
  };
  DataTable.prototype.draw = function () {
    var body = this.table.tBodies[0];
    var start = this.page * PAGE, rows = this.shown.slice(start, start + PAGE);
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(drawRow(r)); });
    body.replaceChildren(frag);
    if (!this.tools) { return; }
    var n = this.shown.length;
    var status = n === 0 ? "No area matches"
      : "Rows " + (start + 1).toLocaleString("en") + "–" +
        (start + rows.length).toLocaleString("en") + " of " + n.toLocaleString("en");
    if (n !== this.all.length && n > 0) {
      status += " (of " + this.all.length.toLocaleString("en") + ")";
    }
    this.tools.querySelector(".status").textContent = status;
    this.tools.querySelector("button.prev").disabled = this.page === 0;
    this.tools.querySelector("button.next").disabled = start + PAGE >= n;
  };

  // Without the rows script: sort the rows the HTML holds, in place.
  function domValue(cellNode, type) {
    if (type === "number") {
      var v = cellNode.getAttribute("data-value");
      return v === null || v === "" ? null : parseFloat(v);
    }
    return fold(cellNode.textContent.trim());
  }
  function sortDom(table, index, type, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = domValue(a.cells[index], type), y = domValue(b.cells[index], type);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function setUp(table) {
    var key = table.getAttribute("data-table");
    var data = window.CD_ROWS && key !== null ? window.CD_ROWS[Number(key)] : null;
    var tools = key !== null ? document.querySelector(".table-tools[data-table='" + key + "']")
      : null;
    var model = data ? new DataTable(table, data, tools) : null;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var type = button.getAttribute("data-type");
        var current = th.getAttribute("aria-sort");
        var dir = current === "descending" ? "ascending" : "descending";
        if (current === "none" && type === "text") { dir = "ascending"; }
        if (model) { model.sort(index, type, dir); } else { sortDom(table, index, type, dir); }
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
          if (h.hasAttribute("aria-sort")) { h.setAttribute("aria-sort", "none"); }
        });
        th.setAttribute("aria-sort", dir);
      });
    });
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), setUp);
  }
  // site.js runs at the end of the body; the deferred rows script runs after it, before
  // DOMContentLoaded.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
