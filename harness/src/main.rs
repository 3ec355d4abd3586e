fn main() {
    println!("harness: under construction");
}
