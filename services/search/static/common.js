"use strict";
// Shared helpers of the search and product pages (no framework, no build step).
const clp = new Intl.NumberFormat("es-CL", { style: "currency", currency: "CLP",
                                              maximumFractionDigits: 0 });
const STOCK = { in_stock: "Disponible", low_stock: "Últimas unidades", out_of_stock: "Agotado",
                preorder: "Preventa", unknown: "Sin información" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function shopperId() {
  let id = localStorage.getItem("shopper_id");
  if (!id) { id = crypto.randomUUID(); localStorage.setItem("shopper_id", id); }
  return id;
}

function sendEvent(kind, productId) {
  const body = { event_id: crypto.randomUUID(), user_id: shopperId(), product_id: productId, kind };
  return fetch("/events", { method: "POST", headers: { "Content-Type": "application/json" },
                            body: JSON.stringify(body), keepalive: true }).catch(() => null);
}
