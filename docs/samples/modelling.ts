import { Aggregate, aggregateType, ChangeEvent } from '@evsrc/core';

/** A shopping cart: items can be added until it is checked out. */
export class Cart extends Aggregate {
  static readonly type = 'cart'; // stored in paths and headers: never change it
  items: { sku: string; quantity: number }[] = [];
  checkedOut = false;

  add(sku: string, quantity: number) {
    if (this.checkedOut) throw new Error('The cart is checked out');
    if (!Number.isInteger(quantity) || quantity < 1) throw new RangeError('quantity must be a positive integer');
    this.raise(new ItemAdded(sku, quantity));
  }

  checkOut() {
    if (this.items.length === 0) throw new Error('The cart is empty');
    if (!this.checkedOut) this.raise(new CheckedOut());
  }
}

export class ItemAdded extends ChangeEvent<Cart> {
  static readonly type = 'item-added';
  constructor(
    readonly sku: string,
    readonly quantity: number,
  ) {
    super();
  }
  applyOn(cart: Cart) {
    const line = cart.items.find((i) => i.sku === this.sku);
    if (line) line.quantity += this.quantity;
    else cart.items.push({ sku: this.sku, quantity: this.quantity });
  }
}

export class CheckedOut extends ChangeEvent<Cart> {
  static readonly type = 'checked-out';
  applyOn(cart: Cart) {
    cart.checkedOut = true;
  }
}

// The explicit list of a type's events: files are read only through it.
export const carts = aggregateType(Cart, { events: [ItemAdded, CheckedOut], snapshots: { every: 200 } });
